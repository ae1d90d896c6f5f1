// End-to-end test of the triage page: a real kicer server, a few questions
// seeded with its CLI, the real page in Debian's headless Chromium.
//
//   node web/test/e2e.mjs KICER_BINARY
//
// KICER_WEB_SAME_ORIGIN=1: the page is loaded from kicer itself
// (http://ADDR/); otherwise from a static server of web/dist, calling kicer
// cross-origin (listed in cors_origins). Screenshots: target/web-e2e/.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";
import { serveDir } from "./static-server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, "..");
const root = resolve(web, "..");
const shots = join(root, "target", "web-e2e");
const require = createRequire(import.meta.url);
const binary = process.argv[2];
const sameOrigin = process.env.KICER_WEB_SAME_ORIGIN === "1";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TIMEOUT = 15000;

let server;
let statik;
let browser;
let work;
const steps = [];

function fail(message) {
  throw new Error(message);
}

function step(name) {
  steps.push(name);
  console.log(`e2e: ${name}`);
}

async function startKicer(origin) {
  const config = join(work, "kicer.toml");
  writeFileSync(config, origin ? `cors_origins = [${JSON.stringify(origin)}]\n` : "");
  server = spawn(binary, ["serve", "--config", config, "--listen", "127.0.0.1:0", "--data-dir", join(work, "data")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  server.stderr.on("data", (d) => {
    stderr += d;
  });
  const lines = createInterface({ input: server.stdout });
  const addr = await new Promise((ok, ko) => {
    const timer = setTimeout(() => ko(new Error(`kicer did not say where it listens within 20 s:\n${stderr}`)), 20000);
    server.once("exit", (code) => ko(new Error(`kicer exited with ${code} before listening:\n${stderr}`)));
    lines.once("line", (line) => {
      clearTimeout(timer);
      const m = /^kicer listening on (\S+)/.exec(line);
      m ? ok(m[1]) : ko(new Error(`unexpected first line from kicer: ${line}`));
    });
  });
  lines.on("line", () => {}); // keep draining stdout
  return addr;
}

function cli(addr, ...args) {
  try {
    return execFileSync(binary, ["--server", `http://${addr}`, "--actor", "collega-cli", ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    fail(`kicer ${args.join(" ")} failed (${e.status}): ${e.stderr}`);
  }
}

function submit(addr, text) {
  return JSON.parse(cli(addr, "--json", "submit", "--org", "Gemeente Zwolle", "--org-type", "GEMEENTE", text));
}

async function apiClients(addr) {
  const out = join(work, "api-client.mjs");
  await esbuild.build({
    entryPoints: [join(here, "api-client.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: out,
    logLevel: "warning",
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  const mod = await import(pathToFileURL(out).href);
  return mod.clients(`http://${addr}`);
}

async function axe(page, view) {
  // Evaluated through the DevTools protocol rather than added as a
  // <script>: the page's Content-Security-Policy (script-src 'self')
  // rightly refuses inline scripts, and the test must not loosen it.
  const source = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = result.filter((v) => !bad.includes(v));
  if (minor.length) console.log(`e2e: axe on ${view}, minor: ${minor.map((v) => `${v.id} (${v.impact})`).join(", ")}`);
  if (bad.length) fail(`axe-core found serious or critical violations on the ${view} view:\n${JSON.stringify(bad, null, 2)}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, name), fullPage: name !== "queue.png" });
}

async function main() {
  if (!binary) fail("usage: node web/test/e2e.mjs KICER_BINARY");
  mkdirSync(shots, { recursive: true });
  work = mkdtempSync(join(tmpdir(), "kicer-web-e2e-"));

  let pageBase;
  if (sameOrigin) {
    const addr = await startKicer(null);
    pageBase = { addr, url: `http://${addr}/` };
  } else {
    statik = await serveDir(join(web, "dist"));
    const addr = await startKicer(statik.url);
    pageBase = { addr, url: `${statik.url}/?server=${encodeURIComponent(`http://${addr}`)}` };
  }
  const { addr, url } = pageBase;
  step(`kicer at ${addr}, page at ${url}`);
  const api = await apiClients(addr);
  const { Status } = api;

  // Seed: two answered questions (lead times, an answer to reuse), one that
  // repeats an answered one, and vague ones that land in triage.
  const answered = submit(addr, "Hoe halen we onze circulaire-inkoopdoelstellingen?");
  const answered2 = submit(addr, "Welke criteria gebruiken we bij circulaire aanbestedingen?");
  for (const q of [answered, answered2]) {
    if (q.status !== "ROUTED") fail(`seed question ${q.id} was expected to be routed, it is ${q.status}`);
    cli(addr, "accept", q.id);
    cli(addr, "answer", q.id, "Zie de handreiking van PIANOo.", "--source", "https://www.pianoo.nl");
  }
  const repeat = submit(addr, "Hoe halen wij onze circulaire inkoopdoelstellingen?");
  if (repeat.status !== "TRIAGE") fail(`${repeat.id} should wait as a possible duplicate, it is ${repeat.status}`);
  const vague = [
    "Kunnen jullie helpen met afval?",
    "Hoe pakken we dit aan met de regio?",
    "Wat moeten we met matrassen doen?",
    "Wij hebben een vraag over iets.",
  ].map((text) => submit(addr, text));
  for (const q of vague) if (q.status !== "TRIAGE") fail(`${q.id} ("${q.text}") should be in triage, it is ${q.status}`);
  step(`seeded ${2 + 1 + vague.length} questions`);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "nl-NL" });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  // The page must work under kicer's Content-Security-Policy: anything it
  // blocks (an inline style or script) shows up as a console error.
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) pageErrors.push(`CSP: ${m.text()}`);
  });

  // 1. The queue, in ListQueue's order.
  await page.goto(url);
  await page.locator("#live[data-live=on]").waitFor();
  const queue = await api.triage.listQueue({ pageSize: 100 });
  const apiOrder = queue.entries.map((e) => e.question.id);
  await page.locator("#queue li").first().waitFor();
  const pageOrder = await page.locator("#queue > li").evaluateAll((els) => els.map((e) => e.dataset.id));
  if (pageOrder[0] !== apiOrder[0]) fail(`first queue row is ${pageOrder[0]}, ListQueue says ${apiOrder[0]}`);
  if (pageOrder.join() !== apiOrder.join()) fail(`queue order ${pageOrder} differs from ListQueue's ${apiOrder}`);
  const firstCause = await page.locator("#queue > li").first().locator("[data-cause]").textContent();
  if (!firstCause?.trim()) fail("the first queue row does not say why it waits");
  step(`queue shows ${pageOrder.length} questions in ListQueue's order (first ${pageOrder[0]})`);
  await shot(page, "queue.png");
  await axe(page, "queue");
  step("axe: no serious or critical violations on the queue");

  // Keyboard only: Tab to the first question and open it with Enter.
  await page.locator("body").focus();
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.matches("#queue > li:first-child a") ?? false);
  }
  if (!reached) fail("Tab never reached the first question of the queue");
  const focusRing = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  if (focusRing === "none") fail("the focused queue link shows no focus outline");
  await page.keyboard.press("Enter");
  await page.locator("#question-title").waitFor();
  step("keyboard: Tab reaches the first question (with a focus ring) and Enter opens it");

  // 2. A question with at least two ranked providers, opened.
  const target = queue.entries.map((e) => e.question).find((q) => q.id !== repeat.id && (q.classification?.providers.length ?? 0) >= 2);
  if (!target) fail("no question in the queue has two ranked providers");
  await page.goto(`${url}#/q/${target.id}`);
  await page.locator("#ranked-providers li").first().waitFor();
  const terms = await page.locator("#ranked-providers > li").first().locator(".terms li").allTextContents();
  const expected = target.classification.providers[0].matchedTerms.map((m) => m.matched);
  if (!terms.length) fail(`${target.id}: no matched terms shown`);
  if (!expected.every((m) => terms.some((s) => s.includes(m)))) fail(`${target.id}: matched terms ${JSON.stringify(terms)} do not show ${JSON.stringify(expected)}`);
  step(`${target.id} opened: matched terms of the best provider shown (${terms.join("; ")})`);
  await shot(page, "question.png");
  await axe(page, "question");
  step("axe: no serious or critical violations on the question");

  // 3. Route to the second-ranked provider by clicking; the server has it.
  const second = target.classification.providers[1].id;
  await page.locator('#ranked-providers > li[data-rank="2"] button.choose').click();
  const chosen = await page.locator("#route-provider").inputValue();
  if (chosen !== second) fail(`clicking the second provider chose ${chosen}, not ${second}`);
  await page.locator("#route-submit").click();
  await page.locator("#q-message.ok").waitFor();
  const routed = await api.questions.getQuestion({ id: target.id });
  if (routed.status !== Status.ROUTED || routed.providerId !== second)
    fail(`after routing in the page the server has ${target.id} ${Status[routed.status]} to "${routed.providerId}", not ROUTED to ${second}`);
  step(`${target.id} routed by clicking to the second-ranked provider ${second}; the server recorded it`);

  // 4. Mark the repeated question as a duplicate of the answered one.
  await page.locator("a.back").click();
  await page.locator(`#queue > li[data-id="${target.id}"]`).waitFor({ state: "detached" });
  await page.goto(`${url}#/q/${repeat.id}`);
  await page.locator(`#similar > li[data-id="${answered.id}"] button.mark-dup`).click();
  await page.locator("#dup-submit").click();
  await page.locator("#q-message.ok").waitFor();
  const dup = await api.questions.getQuestion({ id: repeat.id });
  if (dup.status !== Status.DUPLICATE || dup.duplicateOf !== answered.id)
    fail(`${repeat.id} is ${Status[dup.status]} (duplicate of "${dup.duplicateOf}"), not DUPLICATE of ${answered.id}`);
  step(`${repeat.id} marked as a duplicate of ${answered.id}`);

  // 5. A colleague routes one through the CLI: it leaves the queue, no reload.
  await page.goto(`${url}#/`);
  await page.locator("#live[data-live=on]").waitFor();
  const left = (await api.triage.listQueue({})).entries.map((e) => e.question.id);
  const [liveId, conflictId] = left;
  if (!liveId || !conflictId) fail(`the queue should still hold two questions, it holds ${left}`);
  await page.locator(`#queue > li[data-id="${liveId}"]`).waitFor();
  await page.evaluate(() => (window.__noReload = true));
  cli(addr, "route", liveId, "--provider", "vng", "--reason", "collega via de CLI");
  await page.locator(`#queue > li[data-id="${liveId}"]`).waitFor({ state: "detached" });
  if (!(await page.evaluate(() => window.__noReload === true))) fail("the page reloaded to show the CLI's change");
  step(`${liveId} routed through the CLI left the queue without a reload`);

  // 6. Etag conflict: the CLI changes a question open in the page, the page acts.
  await page.goto(`${url}#/q/${conflictId}`);
  await page.locator("#reject-reason").waitFor();
  cli(addr, "route", conflictId, "--provider", "vng");
  cli(addr, "decline", conflictId, "--reason", "past niet bij ons");
  await page.locator("#reject-reason").fill("buiten ons werkterrein");
  await page.locator("#reject-submit").click();
  const msg = page.locator("#q-message.error");
  await msg.waitFor();
  const text = await msg.textContent();
  if (!text.includes("Iemand anders heeft deze vraag gewijzigd")) fail(`the conflict message reads: ${text}`);
  const still = await api.questions.getQuestion({ id: conflictId });
  if (still.status !== Status.TRIAGE) fail(`${conflictId} should be unchanged in TRIAGE after the refused change, it is ${Status[still.status]}`);
  await shot(page, "conflict.png");
  await page.locator("#q-reload").click();
  await page.locator("#q-message").waitFor({ state: "hidden" });
  const history = await page.locator("#history li").allTextContents();
  if (!history.some((h) => h.includes("past niet bij ons"))) fail("after reloading, the history does not show the colleague's decline");
  // Why it waits now: the server's cause, shown in words.
  const cause = await page.locator(".cause").first().textContent();
  if (cause?.trim() !== "Teruggegeven") fail(`a declined question shows the cause "${cause}", not "Teruggegeven"`);
  step(`etag conflict on ${conflictId}: "${text.slice(0, 70)}…", reload shows the colleague's change`);

  // 7. Lead-time plots (two questions were answered) and the queue ages.
  await page.goto(`${url}#/lead-times`);
  const plot = page.locator("#lead-calendar figure.plot");
  await plot.waitFor();
  await page.locator("#lead-working figure.plot canvas").waitFor();
  await page.locator("#age-plot canvas").waitFor();
  const drawn = await page.evaluate(() => {
    const out = {};
    for (const sel of ["#lead-calendar", "#lead-working", "#age-plot"]) {
      const c = document.querySelector(`${sel} canvas`);
      const fig = document.querySelector(`${sel} figure`) ?? document.querySelector(sel);
      const ctx = c.getContext("2d");
      const px = ctx.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
      out[sel] = { w: c.width, h: c.height, painted, series: fig?.dataset?.series ?? null };
    }
    return out;
  });
  for (const [sel, d] of Object.entries(drawn)) if (!d.w || !d.h || d.painted < 50) fail(`the plot ${sel} is empty: ${JSON.stringify(d)}`);
  if (Number(drawn["#lead-calendar"].series) < 2) fail(`the lead-time plot has ${drawn["#lead-calendar"].series} series, expected p50 and p90 of a category`);
  await shot(page, "lead-times.png");
  step(`lead-time plots drawn: ${JSON.stringify(drawn)}`);

  // 8. The two lists.
  await page.goto(`${url}#/lists`);
  await page.locator("#gaps :is(ol, p)").first().waitFor();
  await page.locator("#due :is(ol, p)").first().waitFor();
  if ((await page.locator("#gaps, #due").locator(".error").count()) > 0) fail("the lists view shows an error");
  await shot(page, "lists.png");
  step("knowledge gaps and answers due for review listed");

  // 9. A 390-pixel phone: nothing wider than the screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "nl-NL", isMobile: true, hasTouch: true });
  const p2 = await phone.newPage();
  p2.setDefaultTimeout(TIMEOUT);
  for (const [hash, name, ready] of [
    ["#/", "queue-phone.png", "#queue li"],
    [`#/q/${conflictId}`, "question-phone.png", "#history li"],
    ["#/lead-times", "lead-times-phone.png", "#lead-calendar canvas"],
  ]) {
    await p2.goto(`${url}${hash}`);
    await p2.locator(ready).first().waitFor();
    const width = await p2.evaluate(() => document.documentElement.scrollWidth);
    if (width > 390) fail(`at 390 px the page ${hash} is ${width} px wide`);
    await p2.screenshot({ path: join(shots, name), fullPage: true });
  }
  await phone.close();
  step("390 px wide: queue, question and plots fit without sideways scrolling");

  // 10. English for a browser that is not Dutch.
  const english = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  const p3 = await english.newPage();
  await p3.goto(url);
  const title = await p3.locator("#queue-title").textContent({ timeout: TIMEOUT });
  if (title !== "Triage queue") fail(`an English browser sees "${title}"`);
  await english.close();
  step("an English browser gets English text");

  if (pageErrors.length) fail(`the page threw: ${pageErrors.join("; ")}`);
  copyFileSync(join(shots, "queue.png"), join(shots, "triage-page.png"));
}

let code = 0;
try {
  await main();
  console.log(`e2e: all ${steps.length} steps passed; screenshots in ${shots}`);
} catch (e) {
  code = 1;
  console.error(`e2e FAILED after "${steps.at(-1) ?? "start"}": ${e.message}`);
} finally {
  await browser?.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => {
      const t = setTimeout(() => {
        server.kill("SIGKILL");
        r();
      }, 12000);
      server.once("exit", () => {
        clearTimeout(t);
        r();
      });
    });
  }
  await statik?.close();
  if (work) rmSync(work, { recursive: true, force: true });
}
process.exit(code);
