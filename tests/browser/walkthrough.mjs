// A developer's first minutes with a generated service, in a real browser
// (Debian's Chromium, driven by playwright-core):
//
//   node walkthrough.mjs <base_url> <screenshot_dir>
//
// 1. /me/ while anonymous lands on the development login, `next` pointing back;
// 2. signing in as Ada comes back to /me/, which shows her;
// 3. / greets her by first name;
// 4. Swagger UI (/docs) loads;
// 5. its "Try it out" on GET /me answers 200 with her, the browser sending the
//    cookies by itself.
//
// One line per step on stdout, a numbered PNG per step in <screenshot_dir>.
// Any failure: a message on stderr, <screenshot_dir>/failure.png, exit 1.
// The browser comes from the system (CHROMIUM, default /usr/bin/chromium):
// Playwright never downloads one here.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const USAGE = 'usage: node walkthrough.mjs <base_url> <screenshot_dir>';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
// Each wait or action; navigation gets a little more.
const STEP_TIMEOUT_MS = 10_000;
const NAVIGATION_TIMEOUT_MS = 15_000;
// The whole walk, browser start included: beyond this, give up.
const WHOLE_RUN_MS = 55_000;

const ADA = {
  username: 'ada-lovelace',
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
};

class StepFailed extends Error {}

function check(condition, message) {
  if (!condition) {
    throw new StepFailed(message);
  }
}

const [baseArg, shotsDir] = process.argv.slice(2);
if (!baseArg || !shotsDir) {
  console.error(USAGE);
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');

let step = 'starting Chromium';
let browser;
let page;

async function shot(name) {
  await page.screenshot({ path: join(shotsDir, name), fullPage: true });
}

function done(number, text, screenshot) {
  console.log(`step ${number} ok: ${text} (${screenshot})`);
}

async function walk() {
  await mkdir(shotsDir, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    timeout: 20_000,
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  page = await context.newPage();

  // 1. Anonymous: /me/ sends the browser to the development login.
  step = '1 (anonymous /me/ → development login)';
  await page.goto(`${base}/me/`);
  const login = new URL(page.url());
  check(
    login.pathname === '/dev/login/',
    `expected the development login (/dev/login/), got ${page.url()}`,
  );
  const next = login.searchParams.get('next') ?? '';
  check(next.endsWith('/me/'), `expected \`next\` to carry /me/, got ${JSON.stringify(next)} in ${page.url()}`);
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Sign in' }) });
  await form.getByLabel('Username').fill(ADA.username);
  await form.getByLabel('E-mail').fill(ADA.email);
  await form.getByLabel('First name').fill(ADA.firstName);
  await form.getByLabel('Last name').fill(ADA.lastName);
  await form.getByRole('checkbox', { name: 'Staff', exact: true }).check();
  await shot('01-login-page.png');
  done(1, `${base}/me/ → ${page.url()} (form filled in as ${ADA.username}, staff)`, '01-login-page.png');

  // 2. Sign in: back on /me/, showing Ada.
  step = '2 (sign in → back on /me/)';
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/me/'),
    form.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  check(page.url() === `${base}/me/`, `expected ${base}/me/ after signing in, got ${page.url()}`);
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  const account = await page.getByRole('table').innerText();
  check(account.includes(ADA.username), `expected ${ADA.username} on /me/, got:\n${account}`);
  check(/Staff\s+yes/.test(account), `expected Staff: yes on /me/, got:\n${account}`);
  await shot('02-signed-in-me.png');
  done(2, `signed in, ${page.url()} shows ${ADA.username}`, '02-signed-in-me.png');

  // 3. The home page greets her.
  step = '3 (home page greeting)';
  await page.goto(`${base}/`);
  check(new URL(page.url()).pathname === '/', `expected the home page, got ${page.url()}`);
  const greeting = page.getByRole('heading', { level: 1 });
  await greeting.waitFor();
  const greetingText = (await greeting.innerText()).trim();
  check(greetingText === `Hello, ${ADA.firstName}!`, `expected "Hello, ${ADA.firstName}!", got "${greetingText}"`);
  await shot('03-home.png');
  done(3, `${page.url()} says "${greetingText}"`, '03-home.png');

  // 4. Swagger UI.
  step = '4 (Swagger UI at /docs)';
  await page.goto(`${base}/docs`);
  const operation = page.locator('.opblock.opblock-get', {
    has: page.locator('.opblock-summary-path[data-path="/me"]'),
  });
  await operation.waitFor();
  await shot('04-docs.png');
  done(4, `${page.url()} lists GET /me`, '04-docs.png');

  // 5. Try it out on GET /me: the browser's own cookies authenticate it.
  step = '5 (Swagger UI: GET /me → Try it out → Execute)';
  await operation.locator('.opblock-summary').getByRole('button').first().click();
  await operation.getByRole('button', { name: 'Try it out' }).click();
  await operation.getByRole('button', { name: 'Execute' }).click();
  const live = operation.locator('.live-responses-table');
  const status = live.locator('tbody .response-col_status').first();
  await status.waitFor();
  const statusText = (await status.innerText()).trim();
  const body = live.locator('.response-col_description pre').first();
  const bodyText = await body.innerText();
  check(statusText === '200', `expected the live response status 200, got "${statusText}"; body:\n${bodyText}`);
  check(bodyText.includes(ADA.username), `expected ${ADA.username} in the response body, got:\n${bodyText}`);
  // The operation from its summary down to the live response, not the
  // documented responses below it.
  const area = await operation.evaluate((element) => {
    const op = element.getBoundingClientRect();
    const response = element.querySelector('.live-responses-table').getBoundingClientRect();
    return { x: op.left + window.scrollX, y: op.top + window.scrollY, width: op.width, bottom: response.bottom + window.scrollY };
  });
  await page.screenshot({
    path: join(shotsDir, '05-try-it-out-200.png'),
    fullPage: true,
    clip: { x: area.x, y: area.y, width: area.width, height: area.bottom - area.y + 8 },
  });
  done(5, `Try it out on GET /me answered ${statusText} with ${ADA.username}`, '05-try-it-out-200.png');
}

async function fail(error) {
  const message = error instanceof StepFailed ? error.message : (error?.stack ?? String(error));
  console.error(`walkthrough FAILED at step ${step}: ${message}`);
  if (page) {
    console.error(`page URL at failure: ${page.url()}`);
    try {
      await page.screenshot({ path: join(shotsDir, 'failure.png'), fullPage: true, timeout: 5_000 });
      console.error(`screenshot: ${join(shotsDir, 'failure.png')}`);
    } catch (screenshotError) {
      console.error(`could not save failure.png: ${screenshotError.message}`);
    }
  }
}

const watchdog = setTimeout(async () => {
  await fail(new StepFailed(`the walkthrough took longer than ${WHOLE_RUN_MS / 1000} s`));
  process.exit(1);
}, WHOLE_RUN_MS);

let exitCode = 0;
try {
  await walk();
  console.log('walkthrough passed');
} catch (error) {
  await fail(error);
  exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
}
process.exit(exitCode);
