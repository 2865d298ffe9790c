import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startSecurityHarness, type SecurityHarness } from './security-harness.js';

/** Debian's Chromium only (`apt-get install -y chromium`); never a downloaded browser. */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`swagger-ui e2e skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

(haveChromium ? describe : describe.skip)('Swagger UI with OAuth2 in a real browser', () => {
  let h: SecurityHarness;
  let browser: Browser;

  beforeAll(async () => {
    h = await startSecurityHarness();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('Authorize (client credentials) → Try it out → Execute POST /api/orders answers 202', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    mkdirSync('test-results', { recursive: true });
    try {
      await page.goto(`${h.url}/docs`);
      await page.locator('button.btn.authorize').first().click({ timeout: 15_000 });

      // The client-credentials scheme's form in the Authorize dialog.
      const cc = page.locator('.auth-container', { hasText: 'oauth2-client-credentials' });
      await cc.locator('#client_id_clientCredentials').fill('order-flow-dev');
      await cc.locator('#client_secret_clientCredentials').fill('dev-secret');
      await cc.getByText('select all', { exact: true }).click();
      await cc.locator('button.authorize').click();
      await cc.locator('button', { hasText: 'Logout' }).waitFor({ timeout: 15_000 });
      await page.locator('.dialog-ux button.close-modal').click();

      const op = page.locator('#operations-orders-Orders_create');
      await op.locator('.opblock-summary').click();
      await op.locator('button.try-out__btn').click();
      await op.locator('button.execute').click();
      const status = op.locator('.live-responses-table tbody tr.response td.response-col_status').first();
      await status.waitFor({ timeout: 15_000 });
      await page.screenshot({ path: 'test-results/swagger-ui-authorized-post.png', fullPage: true });
      expect((await status.innerText()).trim()).toBe('202');
      expect(problems.filter((p) => /Content Security Policy|CORS/i.test(p))).toEqual([]);
    } catch (err) {
      await page.screenshot({ path: 'test-results/swagger-ui-failure.png', fullPage: true }).catch(() => undefined);
      throw new Error(`${(err as Error).message}\nbrowser console errors: ${problems.join(' | ')}`);
    } finally {
      await page.close();
    }
  });
});
