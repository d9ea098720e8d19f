// The one way the browser tests start Debian's Chromium: headless, as root
// (no sandbox), and with no background networking (this machine's network is
// closed: Chromium's own connections would be refused, many at a time).
import { chromium } from 'playwright-core';

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
