// Submits the sample landing page in a real headless Chromium, as a person would.
//   node infra/browser/submit-landing-page.mjs <stack url> <email> <screenshot.png>
// Prints {"url": …, "title": …, "posted": …} of the page the form lands on (and
// the body the form posted); exits 1 on any failure.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { launch } from './launch.mjs';

const [url, email, screenshot] = process.argv.slice(2);
if (!url || !email || !screenshot) {
  console.error('usage: submit-landing-page.mjs <stack url> <email> <screenshot.png>');
  process.exit(2);
}

let browser;
let page;
try {
  browser = await launch();
  page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  let posted = null;
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/inquiries') posted = r.postData();
  });
  const opened = await page.goto(`${url.replace(/\/$/, '')}/`);
  if (!opened?.ok()) throw new Error(`GET ${url}/ answered ${opened?.status()}`);
  const openedAt = Date.now();

  const type = async (name, text) => {
    const box = page.getByRole('textbox', { name, exact: true });
    await box.click();
    await box.pressSequentially(text, { delay: 10 });
  };
  const choose = (name, value) => page.getByRole('combobox', { name, exact: true }).selectOption(value);
  await type(/^Work email/, email);
  await type('First name', 'Grete');
  await type('Last name', 'Browser');
  await type('Company', 'Browser GmbH');
  await choose('Country', 'DE');
  await choose('I would like', 'demo');
  await choose('Budget', 'defined');
  await choose('Your role in the decision', 'decision_maker');
  await choose('Need', 'identified');
  await choose('Timeframe', 'within_3_months');
  await page.getByLabel(/Email me product news/).check();
  // A person takes longer than the playbook's spam.min_fill_seconds (3 s); a
  // form sent sooner is thanked but counted as spam, and no lead is recorded.
  await page.waitForTimeout(Math.max(0, 4_000 - (Date.now() - openedAt)));

  await Promise.all([
    page.waitForURL(/\/thanks\.html$/, { waitUntil: 'load' }),
    page.getByRole('button', { name: 'Send request' }).click(),
  ]);
  await page.screenshot({ path: mkdir(screenshot), fullPage: true });
  console.log(JSON.stringify({ url: page.url(), title: await page.title(), posted }));
} catch (err) {
  const where = page ? ` (page at ${page.url()})` : '';
  console.error(`submit-landing-page: ${err.message.split('\n').slice(0, 6).join('\n')}${where}`);
  if (page) await page.screenshot({ path: mkdir(screenshot), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser?.close();
}

function mkdir(file) {
  mkdirSync(dirname(file), { recursive: true });
  return file;
}
