/**
 * Reads what a person sees on the web pages of a real run, in headless Chromium, and prints it as JSON.
 * Run as a child process by tests whose jest module graph already holds execa: playwright-core and
 * execa cannot share one jest ESM registry (both load signal-exit, in different module formats).
 *
 *   node dist/test/support/page-facts.js <base-url> <submission-id>...
 */
import { launchBrowser, screenshot } from './browser.js';

export interface PageFacts {
  track: { ranked: (string | null)[]; scatterPoints: number; correlation: string | null; failureBars: (string | null)[] };
  submissions: Record<
    string,
    {
      failureReason: string | null;
      logExcerpt: string | null;
      timeline: { stage: string | null; elapsedMs: string | null; limitMs: string | null }[];
      temporalLink: string | null;
    }
  >;
}

async function main(): Promise<void> {
  const [baseUrl, ...submissionIds] = process.argv.slice(2);
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/tracks/cpu`);
    const facts: PageFacts = {
      track: {
        ranked: await page.locator('[data-testid="leaderboard-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-submission'))),
        scatterPoints: await page.locator('[data-testid="scatter-point"]').count(),
        correlation: await page.locator('[data-testid="correlation"]').textContent(),
        failureBars: await page.locator('[data-testid="failure-bar"]').evaluateAll((bars) => bars.map((b) => b.getAttribute('data-key'))),
      },
      submissions: {},
    };
    await screenshot(page, 'real-run-track-cpu');
    for (const id of submissionIds) {
      await page.goto(`${baseUrl}/submissions/${id}`);
      const reason = page.locator('[data-testid="failure-reason"]');
      const log = page.locator('[data-testid="log-excerpt"]');
      facts.submissions[id] = {
        failureReason: (await reason.count()) > 0 ? await reason.first().textContent() : null,
        logExcerpt: (await log.count()) > 0 ? await log.first().textContent() : null,
        timeline: await page
          .locator('[data-testid="timeline-bar"]')
          .evaluateAll((bars) =>
            bars.map((b) => ({ stage: b.getAttribute('data-stage'), elapsedMs: b.getAttribute('data-elapsed-ms'), limitMs: b.getAttribute('data-limit-ms') })),
          ),
        temporalLink: await page.locator('[data-testid="temporal-link"]').getAttribute('href'),
      };
      await screenshot(page, `real-run-${id}`);
    }
    console.log(JSON.stringify(facts));
  } finally {
    await browser.close();
  }
}

await main();
