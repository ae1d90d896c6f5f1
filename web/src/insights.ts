// Lead times as plots: p50 and p90 per category per month in calendar and
// working hours, and the ages of the open questions (GetQueueStats).

import uPlot from "uplot";
import { Category, Status } from "./gen/kicer/v1/common_pb";
import {
  LeadTimeClock,
  LeadTimeGrouping,
  LeadTimeMetric,
  type LeadTimeGroup,
  type QueueStat,
} from "./gen/kicer/v1/insights_pb";
import { explain, insights } from "./api";
import { h, replace } from "./dom";
import { age, num, seconds, unitFor } from "./format";
import { categoryName, t } from "./i18n";
import type { View } from "./view";

const COLORS: Record<string, string> = {
  STRATEGY: "#1f5fbf",
  COLLABORATION: "#b3261e",
  EXECUTION: "#1b7f3a",
  SPECIFIC: "#7a3db8",
  UNSPECIFIED: "#555555",
};
const CATEGORY_KEYS = ["STRATEGY", "COLLABORATION", "EXECUTION", "SPECIFIC", "UNSPECIFIED"];

/** `YYYY-MM` of the last `n` months up to this one, oldest first. */
function lastMonths(n: number): string[] {
  const now = new Date();
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(now.getFullYear(), now.getMonth() - i, 1);
    out.push(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`);
  }
  return out;
}

function categoryKey(group: string): string {
  return group.replace(/^CATEGORY_/, "") || "UNSPECIFIED";
}

type PerMonth = Map<string, Map<string, LeadTimeGroup>>; // month -> category -> group

/**
 * The API groups by one dimension at a time, so per category per month is
 * one MONTH query to find the months with data, then one CATEGORY query per
 * such month and clock.
 */
async function leadTimes(metric: LeadTimeMetric, months: string[]): Promise<Record<"calendar" | "working", PerMonth>> {
  const from = months[0];
  const to = months[months.length - 1];
  const byMonth = await insights.getLeadTimes({
    metric,
    clock: LeadTimeClock.CALENDAR,
    groupBy: LeadTimeGrouping.MONTH,
    fromMonth: from,
    toMonth: to,
  });
  const withData = byMonth.groups.filter((g) => g.count > 0n).map((g) => g.group);
  const out = { calendar: new Map(), working: new Map() } as Record<"calendar" | "working", PerMonth>;
  await Promise.all(
    withData.flatMap((m) =>
      (["calendar", "working"] as const).map(async (clock) => {
        const res = await insights.getLeadTimes({
          metric,
          clock: clock === "calendar" ? LeadTimeClock.CALENDAR : LeadTimeClock.WORKING_HOURS,
          groupBy: LeadTimeGrouping.CATEGORY,
          fromMonth: m,
          toMonth: m,
        });
        out[clock].set(m, new Map(res.groups.map((g) => [categoryKey(g.group), g])));
      }),
    ),
  );
  return out;
}

/** Keeps the plots as wide as their box. */
const plots = new Set<{ plot: uPlot; box: HTMLElement }>();
let resizeBound = false;
function track(plot: uPlot, box: HTMLElement): void {
  plots.add({ plot, box });
  if (resizeBound) return;
  resizeBound = true;
  window.addEventListener("resize", () => {
    for (const p of plots) {
      if (!p.box.isConnected) {
        p.plot.destroy();
        plots.delete(p);
      } else p.plot.setSize({ width: plotWidth(p.box), height: plotHeight() });
    }
  });
}
const plotWidth = (box: HTMLElement) => Math.max(280, box.clientWidth - 8);
const plotHeight = () => (window.innerWidth < 600 ? 220 : 280);

function monthAxis(labels: string[]): uPlot.Axis {
  return {
    splits: () => labels.map((_, i) => i),
    values: (_u, splits) => splits.map((i) => labels[i] ?? ""),
    gap: 4,
    size: 40,
  };
}

function leadPlot(box: HTMLElement, title: string, data: PerMonth, months: string[]): void {
  const cats = CATEGORY_KEYS.filter((c) => months.some((m) => data.get(m)?.has(c)));
  let max = 0;
  for (const m of data.values()) for (const g of m.values()) max = Math.max(max, seconds(g.p90));
  const unit = unitFor(max);
  const xs = months.map((_, i) => i);
  const series: uPlot.Series[] = [{ label: t.month, value: (_u, v) => (v == null ? "" : months[v] ?? "") }];
  const columns: (number | null)[][] = [];
  for (const c of cats) {
    for (const p of ["p50", "p90"] as const) {
      series.push({
        label: `${categoryName(c)} ${p}`,
        stroke: COLORS[c],
        width: 2,
        dash: p === "p90" ? [6, 4] : undefined,
        points: { show: true, size: 6 },
        spanGaps: true,
        value: (_u, v) => (v == null ? "–" : `${num(v, 1)} ${unit.name}`),
      });
      columns.push(months.map((m) => {
        const g = data.get(m)?.get(c);
        return g ? seconds(g[p]) / unit.div : null;
      }));
    }
  }
  const figure = h("figure", { class: "plot", "data-series": String(cats.length * 2) });
  const caption = h("figcaption", null, `${title} (${unit.name})`);
  figure.append(caption);
  box.append(figure);
  const plot = new uPlot(
    {
      width: plotWidth(box),
      height: plotHeight(),
      scales: { x: { time: false, range: [-0.5, months.length - 0.5] }, y: { range: (_u, _min, mx) => [0, mx > 0 ? mx * 1.1 : 1] } },
      axes: [monthAxis(months.map((m) => m.slice(2))), { label: unit.name, size: 56 }],
      series,
      legend: { live: false },
    },
    [xs, ...columns] as uPlot.AlignedData,
    figure,
  );
  track(plot, box);
  // The same figures for those who do not read plots.
  box.append(
    h(
      "details",
      { class: "figures" },
      h("summary", null, `${t.figures}: ${title}`),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          null,
          h("caption", { class: "visually-hidden" }, title),
          h("thead", null, h("tr", null, h("th", { scope: "col" }, t.month), h("th", { scope: "col" }, t.category), h("th", { scope: "col" }, t.count), h("th", { scope: "col" }, "p50"), h("th", { scope: "col" }, "p90"))),
          h(
            "tbody",
            null,
            months.flatMap((m) =>
              [...(data.get(m)?.entries() ?? [])].map(([c, g]) =>
                h("tr", null, h("td", null, m), h("td", null, categoryName(c)), h("td", null, String(g.count)), h("td", null, age(seconds(g.p50))), h("td", null, age(seconds(g.p90)))),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function agePlot(box: HTMLElement, stats: QueueStat[]): void {
  const perStatus = stats.filter((s) => s.category === Category.UNSPECIFIED && s.count > 0n);
  if (!perStatus.length) {
    box.append(h("p", { class: "muted" }, t.noOpen));
    return;
  }
  const max = Math.max(...perStatus.map((s) => seconds(s.oldestAge)));
  const unit = unitFor(max);
  const labels = perStatus.map((s) => t.statuses[s.status]);
  const figure = h("figure", { class: "plot", id: "age-plot" }, h("figcaption", null, `${t.ageTitle} (${unit.name})`));
  box.append(figure);
  const bars = uPlot.paths.bars!;
  const plot = new uPlot(
    {
      width: plotWidth(box),
      height: plotHeight(),
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (_u, _min, mx) => [0, mx > 0 ? mx * 1.1 : 1] } },
      axes: [monthAxis(labels), { label: unit.name, size: 56 }],
      series: [
        { label: t.status, value: (_u, v) => (v == null ? "" : labels[v] ?? "") },
        { label: t.median, fill: "#1f5fbf", stroke: "#1f5fbf", paths: bars({ size: [0.35, 60], align: -1 }), points: { show: false } },
        { label: t.oldest, fill: "#b3261e", stroke: "#b3261e", paths: bars({ size: [0.35, 60], align: 1 }), points: { show: false } },
      ],
      legend: { live: false },
    },
    [labels.map((_, i) => i), perStatus.map((s) => seconds(s.medianAge) / unit.div), perStatus.map((s) => seconds(s.oldestAge) / unit.div)],
    figure,
  );
  track(plot, box);
  box.append(
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "age-table" },
        h("caption", null, t.ageTitle),
        h("thead", null, h("tr", null, h("th", { scope: "col" }, t.status), h("th", { scope: "col" }, t.category), h("th", { scope: "col" }, t.count), h("th", { scope: "col" }, t.median), h("th", { scope: "col" }, t.oldest))),
        h(
          "tbody",
          null,
          stats
            .filter((s) => s.count > 0n)
            .map((s) =>
              h("tr", null, h("td", null, t.statuses[s.status] ?? Status[s.status]), h("td", null, s.category === Category.UNSPECIFIED ? "–" : categoryName(s.category)), h("td", null, String(s.count)), h("td", null, age(seconds(s.medianAge))), h("td", null, age(seconds(s.oldestAge)))),
            ),
        ),
      ),
    ),
  );
}

export function leadTimesView(): View {
  const heading = h("h1", { id: "lead-title", tabindex: "-1" }, t.leadTitle);
  const metric = h(
    "select",
    { id: "lead-metric" },
    h("option", { value: String(LeadTimeMetric.TIME_TO_ANSWER) }, t.metricAnswer),
    h("option", { value: String(LeadTimeMetric.TIME_TO_ROUTE) }, t.metricRoute),
    h("option", { value: String(LeadTimeMetric.TIME_TO_FIRST_RESPONSE) }, t.metricFirst),
  );
  const span = h(
    "select",
    { id: "lead-months" },
    [3, 6, 12, 24].map((n) => h("option", { value: String(n), selected: n === 12 }, String(n))),
  );
  const calendarBox = h("div", { class: "plot-box", id: "lead-calendar" });
  const workingBox = h("div", { class: "plot-box", id: "lead-working" });
  const ageBox = h("div", { class: "plot-box", id: "ages" });
  const error = h("div", { class: "message error", role: "alert", hidden: true });

  async function loadLead(): Promise<void> {
    const months = lastMonths(Number(span.value));
    replace(calendarBox, h("p", { class: "muted" }, t.loading));
    replace(workingBox);
    try {
      const data = await leadTimes(Number(metric.value) as LeadTimeMetric, months);
      replace(calendarBox);
      if (!data.calendar.size) {
        calendarBox.append(h("p", { class: "muted", id: "lead-empty" }, t.noLeadData));
        return;
      }
      leadPlot(calendarBox, t.calendar, data.calendar, months);
      leadPlot(workingBox, t.working, data.working, months);
    } catch (e) {
      error.textContent = explain(e);
      error.hidden = false;
    }
  }

  async function loadAges(): Promise<void> {
    try {
      const res = await insights.getQueueStats({});
      replace(ageBox);
      agePlot(ageBox, res.stats);
    } catch (e) {
      error.textContent = explain(e);
      error.hidden = false;
    }
  }

  metric.addEventListener("change", () => void loadLead());
  span.addEventListener("change", () => void loadLead());
  void loadLead();
  void loadAges();

  const el = h(
    "section",
    { class: "view", "aria-labelledby": "lead-title" },
    heading,
    h("p", null, t.leadIntro),
    error,
    h(
      "div",
      { class: "controls" },
      h("div", { class: "field" }, h("label", { for: "lead-metric" }, t.metric), metric),
      h("div", { class: "field" }, h("label", { for: "lead-months" }, t.months), span),
    ),
    h("section", { class: "card", "aria-labelledby": "cal-title" }, h("h2", { id: "cal-title" }, t.calendar), calendarBox),
    h("section", { class: "card", "aria-labelledby": "work-title" }, h("h2", { id: "work-title" }, t.working), workingBox),
    h("section", { class: "card", "aria-labelledby": "age-title" }, h("h2", { id: "age-title" }, t.ageTitle), h("p", null, t.ageIntro), ageBox),
  );
  return { el, heading, onReconnect: () => void loadAges() };
}
