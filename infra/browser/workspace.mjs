// Drives the web workspace (/app/) in a real headless Chromium, as a rep and
// then a manager would (used by tests/tests/workspace.rs).
//   node infra/browser/workspace.mjs <stack url> <lead name> <screenshot dir>
// 1. signs in as Lena Fischer (inside sales), finds the task for <lead name>
//    on her day, records "wants an on-site visit" with one click, and reads
//    the lead's page (owner, route, status) after the move;
// 2. signs out, signs in as Nina Kovac (manager), opens the reports and reads
//    the funnel and the follow-up figures the page shows.
// Prints one JSON line with what it saw; exits 1 on any failure.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from './launch.mjs';

const [url, leadName, shots] = process.argv.slice(2);
if (!url || !leadName || !shots) {
  console.error('usage: workspace.mjs <stack url> <lead name> <screenshot dir>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const base = url.replace(/\/$/, '');

let browser;
let page;
try {
  browser = await launch();
  // A phone-sized window: the workspace must work there too.
  page = await browser.newPage({ viewport: { width: 412, height: 915 } });
  page.setDefaultTimeout(60_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  const signIn = async (person) => {
    await page.goto(`${base}/app/`);
    const who = page.getByRole('combobox', { name: 'Person' });
    await who.waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#person option').length > 1);
    await who.selectOption(person);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  };

  // 1. The rep's day.
  await signIn('lena.fischer');
  await page.getByRole('heading', { name: /^Today/ }).waitFor();
  const task = page.locator('[data-testid^="task-"]', { hasText: leadName }).first();
  await task.waitFor();
  const taskLabel = (await task.locator('strong').first().innerText()).trim();
  await page.screenshot({ path: join(shots, '1-rep-today.png'), fullPage: true });
  // Keyboard: the outcome buttons are reachable and pressable.
  // What the call learned: a B.A.N.T. answer and a note, on the same card.
  await task.locator('summary').click();
  await task.getByRole('combobox', { name: 'Need' }).selectOption('established');
  await task.getByRole('textbox', { name: 'Notes' }).fill('Dashboards for 40 plants');
  const onsite = task.getByRole('button', { name: 'reached: wants an on-site visit' });
  await onsite.focus();
  await page.keyboard.press('Enter');
  await page.locator('#lead-owner').waitFor();
  await page.waitForFunction(() => document.querySelector('#lead-route')?.textContent === 'hot');
  const lead = {
    owner: await page.locator('#lead-owner').innerText(),
    route: await page.locator('#lead-route').innerText(),
    status: await page.locator('#lead-status').innerText(),
    flash: await page.locator('[data-testid="flash"]').innerText().catch(() => ''),
    history: await page.locator('[data-testid="history"] li').count(),
    notes: await page.locator('[data-testid="history"]').innerText().then((t) => t.includes('Dashboards for 40 plants')),
    need: await page.locator('[data-testid="qualifying"]').innerText(),
  };
  await page.screenshot({ path: join(shots, '2-lead-moved.png'), fullPage: true });
  // Her day no longer lists the task.
  await page.getByRole('link', { name: 'Today' }).first().click();
  await page.getByRole('heading', { name: /^Today/ }).waitFor();
  await page.locator('[data-testid="later-tasks"]').waitFor();
  const stillListed = await page.locator('[data-testid^="task-"]', { hasText: leadName }).count();

  // 2. The manager's view.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn('nina.kovac');
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.getByRole('heading', { name: 'Reports' }).waitFor();
  await page.locator('[data-testid="funnel"]').waitFor();
  const num = async (sel) => Number((await page.locator(sel).first().innerText()).split(' ')[0]);
  const reports = {
    suspect: await num('[data-testid="funnel-all-suspect"]'),
    sales_ready: await num('[data-testid="funnel-all-sales_ready"]'),
    touched: await num('[data-testid="followup-touched"]'),
    lena_touched: await num('[data-testid="followup-rep-lena.fischer-touched"]'),
    never_touched: await num('[data-testid="never-touched"]'),
  };
  await page.screenshot({ path: join(shots, '3-manager-reports.png'), fullPage: true });
  console.log(JSON.stringify({ task: taskLabel, lead, still_listed: stillListed, reports, errors }));
} catch (err) {
  const where = page ? ` (page at ${page.url()})` : '';
  console.error(`workspace: ${err.message.split('\n').slice(0, 8).join('\n')}${where}`);
  if (page) await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser?.close();
}
