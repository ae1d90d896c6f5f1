// One question opened: what it says, who asked, its history, what the
// engine proposes and why, similar earlier questions, and the one action per
// decision its status allows. Every change sends the etag read last.

import { Code } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Category, Status, type MatchedTerm, type RankedMatch, type SimilarQuestion } from "./gen/kicer/v1/common_pb";
import type { Expert, Provider } from "./gen/kicer/v1/directory_pb";
import type { HistoryEvent, Question, QuestionEvent } from "./gen/kicer/v1/questions_pb";
import { actor, directory, explain, isCode, questions, triage } from "./api";
import { h, replace, uid, type Child } from "./dom";
import { day, num, percent, when } from "./format";
import { categoryName, causeName, causeOf, fitReason, t } from "./i18n";
import { announce, type View } from "./view";

interface Loaded {
  q: Question;
  history: HistoryEvent[];
  similar: SimilarQuestion[];
}

/** The directory for "route elsewhere"; read once per page load. */
let dirCache: Promise<{ providers: Provider[]; experts: Expert[] }> | null = null;
function loadDirectory(): Promise<{ providers: Provider[]; experts: Expert[] }> {
  if (!dirCache) {
    dirCache = Promise.all([directory.listProviders({}), directory.listExperts({ pageSize: 1000 })]).then(
      ([p, e]) => ({ providers: p.providers, experts: e.experts }),
      (err) => {
        dirCache = null;
        throw err;
      },
    );
  }
  return dirCache;
}

export function questionView(id: string): View {
  const heading = h("h1", { id: "question-title", tabindex: "-1" }, `${t.question} ${id}`);
  const body = h("div", { class: "question-body" }, h("p", null, t.loading));
  const notice = h("div", { id: "q-notice", class: "message warn", role: "status", hidden: true });
  const message = h("div", { id: "q-message", class: "message", hidden: true, tabindex: "-1" });
  let state: Loaded | null = null;
  let busy = false;

  async function load(): Promise<void> {
    try {
      const [q, hist, sim] = await Promise.all([
        questions.getQuestion({ id }),
        questions.getQuestionHistory({ id }),
        questions.findSimilarQuestions({ id, pageSize: 5 }).catch(() => ({ similar: [] as SimilarQuestion[] })),
      ]);
      state = { q, history: hist.events, similar: sim.similar };
      notice.hidden = true;
      render();
    } catch (e) {
      replace(body, h("div", { class: "message error", role: "alert" }, explain(e)));
    }
  }

  function say(kind: "ok" | "error", text: string, extra?: Child): void {
    message.className = `message ${kind === "ok" ? "ok" : "error"}`;
    message.setAttribute("role", kind === "ok" ? "status" : "alert");
    replace(message, h("p", null, text), extra);
    message.hidden = false;
  }

  function reloadButton(id = "q-reload"): HTMLButtonElement {
    return h(
      "button",
      {
        type: "button",
        id,
        onclick: async () => {
          message.hidden = true;
          await load();
          heading.focus();
        },
      },
      t.reload,
    );
  }

  /** Runs one change; on success shows the question as the server now has it. */
  async function act(run: (etag: string) => Promise<Question>, done: (q: Question) => string): Promise<void> {
    if (!state || busy) return;
    busy = true;
    el.setAttribute("aria-busy", "true");
    try {
      const q = await run(state.q.etag);
      const [hist, sim] = await Promise.all([
        questions.getQuestionHistory({ id }),
        questions.findSimilarQuestions({ id, pageSize: 5 }).catch(() => ({ similar: state!.similar })),
      ]);
      state = { q, history: hist.events, similar: sim.similar };
      notice.hidden = true;
      render();
      say("ok", done(q));
      announce(done(q));
    } catch (e) {
      if (isCode(e, Code.Aborted)) {
        // The message says it all; the live notice would only repeat it.
        notice.hidden = true;
        say("error", t.conflict, reloadButton());
      }
      else say("error", explain(e));
    } finally {
      busy = false;
      el.removeAttribute("aria-busy");
      message.focus();
    }
  }

  function render(): void {
    if (!state) return;
    const { q, history, similar } = state;
    heading.textContent = `${t.question} ${q.id}`;
    replace(
      body,
      details(q),
      h(
        "div",
        { class: "question-more" },
        rankedSection("providers", t.providers, q.classification?.providers ?? [], (m) => chooseTarget("provider", m.id)),
        rankedSection("experts", t.experts, q.classification?.experts ?? [], (m) => chooseTarget("expert", m.id)),
        similarSection(q, similar, chooseOriginal),
        historySection(history),
      ),
      h("aside", { class: "question-actions", "aria-labelledby": "actions-title" }, actions(q, similar)),
    );
  }

  function chooseTarget(kind: "provider" | "expert", targetId: string): void {
    const select = el.querySelector<HTMLSelectElement>(`#route-${kind}`);
    if (!select) return;
    select.value = targetId;
    announce(`${kind === "provider" ? t.provider : t.expert}: ${select.selectedOptions[0]?.textContent ?? targetId}`);
    el.querySelector<HTMLButtonElement>("#route-submit")?.focus();
  }

  function chooseOriginal(originalId: string): void {
    const select = el.querySelector<HTMLSelectElement>("#dup-original");
    if (!select) return;
    select.value = originalId;
    el.querySelector<HTMLButtonElement>("#dup-submit")?.focus();
  }

  function actions(q: Question, similar: SimilarQuestion[]): Child[] {
    const who = actor();
    const base = { id: q.id, actor: who };
    const out: Child[] = [h("h2", { id: "actions-title" }, t.actions)];
    switch (q.status) {
      case Status.TRIAGE:
      case Status.REOPENED: {
        const top = q.classification?.providers[0];
        const topExpert = q.classification?.experts[0];
        if (top) {
          const to = [top.name, topExpert?.name].filter(Boolean).join(" + ");
          out.push(
            h(
              "button",
              {
                type: "button",
                id: "confirm-proposal",
                class: "primary",
                onclick: () =>
                  act(
                    (etag) =>
                      triage.routeQuestion({ ...base, etag, providerId: top.id, expertId: topExpert?.id ?? "" }),
                    () => t.routedTo(to),
                  ),
              },
              t.confirmProposalTo(to),
            ),
          );
        } else {
          out.push(h("p", null, t.noProposal));
        }
        out.push(routeForm(q, base));
        out.push(
          reasonForm("reject", t.rejectTitle, t.reject, true, (reason) =>
            act((etag) => triage.rejectQuestion({ ...base, etag, reason }), () => t.statuses[Status.REJECTED]),
          ),
        );
        if (similar.length) out.push(duplicateForm(similar, base));
        break;
      }
      case Status.ROUTED:
        out.push(
          simpleButton("accept", t.accept, () => act((etag) => questions.acceptQuestion({ ...base, etag }), done)),
          reasonForm("decline", t.decline, t.decline, true, (reason) =>
            act((etag) => questions.declineQuestion({ ...base, etag, reason }), done),
          ),
        );
        break;
      case Status.IN_PROGRESS:
        out.push(
          answerForm(base),
          reasonForm("wait", t.wait, t.wait, false, (reason) =>
            act((etag) => questions.waitForAsker({ ...base, etag, reason }), done),
          ),
        );
        break;
      case Status.WAITING:
        out.push(simpleButton("resume", t.resume, () => act((etag) => questions.resumeQuestion({ ...base, etag }), done)));
        break;
      case Status.ANSWERED:
        out.push(simpleButton("close", t.close, () => act((etag) => questions.closeQuestion({ ...base, etag }), done)));
        out.push(
          reasonForm("reopen", t.reopen, t.reopen, false, (reason) =>
            act((etag) => questions.reopenQuestion({ ...base, etag, reason }), done),
          ),
        );
        break;
      case Status.CLOSED:
        out.push(
          reasonForm("reopen", t.reopen, t.reopen, false, (reason) =>
            act((etag) => questions.reopenQuestion({ ...base, etag, reason }), done),
          ),
        );
        break;
      default:
        out.push(h("p", null, t.noActions));
    }
    return out;
  }

  const done = (q: Question) => `${t.done} ${t.status}: ${t.statuses[q.status]}.`;

  function routeForm(q: Question, base: { id: string; actor: string }): HTMLElement {
    const c = q.classification;
    const providerSel = h("select", { id: "route-provider", name: "provider" }, h("option", { value: "" }, t.noProvider));
    const expertSel = h("select", { id: "route-expert", name: "expert" }, h("option", { value: "" }, t.noExpert));
    const rankedOpts = (ms: RankedMatch[]) =>
      ms.map((m) => h("option", { value: m.id }, `${m.name} (${m.id}, ${t.score} ${num(m.score)})`));
    providerSel.append(h("optgroup", { label: t.ranked }, rankedOpts(c?.providers ?? [])));
    expertSel.append(h("optgroup", { label: t.ranked }, rankedOpts(c?.experts ?? [])));
    const category = h(
      "select",
      { id: "route-category", name: "category" },
      h("option", { value: String(Category.UNSPECIFIED) }, t.keepCategory(categoryName(q.category))),
      [Category.STRATEGY, Category.COLLABORATION, Category.EXECUTION, Category.SPECIFIC].map((x) =>
        h("option", { value: String(x) }, categoryName(x)),
      ),
    );
    const reason = h("textarea", { id: "route-reason", name: "reason", rows: "2", maxlength: "1000" });
    const search = h("input", { id: "dir-search", type: "search", autocomplete: "off", "aria-describedby": "dir-count" });
    const hitCount = h("p", { id: "dir-count", class: "muted", "aria-live": "polite" });
    const hits = h("ul", { id: "dir-hits", class: "hits" });
    const problem = h("p", { class: "field-error", role: "alert", hidden: true });

    // The rest of the directory joins the ranked candidates once loaded.
    loadDirectory().then(
      ({ providers, experts }) => {
        const rankedP = new Set((c?.providers ?? []).map((m) => m.id));
        const rankedE = new Set((c?.experts ?? []).map((m) => m.id));
        providerSel.append(
          h(
            "optgroup",
            { label: t.allProviders },
            providers.filter((p) => !rankedP.has(p.id)).map((p) => h("option", { value: p.id }, `${p.name} (${p.id})`)),
          ),
        );
        expertSel.append(
          h(
            "optgroup",
            { label: t.allExperts },
            experts
              .filter((x) => !rankedE.has(x.id))
              .map((x) => h("option", { value: x.id }, `${x.name} (${x.id}${x.organization ? `, ${x.organization}` : ""})`)),
          ),
        );
        search.addEventListener("input", () => {
          const needle = search.value.trim().toLowerCase();
          if (!needle) {
            hits.replaceChildren();
            hitCount.textContent = "";
            return;
          }
          const pHits = providers.filter((p) =>
            [p.id, p.name, p.description, ...p.themes, ...p.terms.map((x) => x.term)].some((s) => s.toLowerCase().includes(needle)),
          );
          const eHits = experts.filter((x) =>
            [x.id, x.name, x.organization, ...x.themes, ...x.expertise.map((w) => w.term)].some((s) =>
              s.toLowerCase().includes(needle),
            ),
          );
          const shown = [
            ...pHits.slice(0, 8).map((p) => ({ kind: "provider" as const, id: p.id, name: p.name, what: t.provider })),
            ...eHits.slice(0, 8).map((x) => ({ kind: "expert" as const, id: x.id, name: x.name, what: t.expert })),
          ];
          hitCount.textContent = t.searchHits(pHits.length + eHits.length);
          replace(
            hits,
            shown.map((s) =>
              h(
                "li",
                null,
                h(
                  "button",
                  { type: "button", class: "link", onclick: () => chooseTarget(s.kind, s.id) },
                  `${t.choose(s.name)} (${s.what.toLowerCase()}, ${s.id})`,
                ),
              ),
            ),
          );
        });
      },
      () => {
        search.disabled = true;
      },
    );

    const form = h(
      "form",
      {
        id: "route-form",
        class: "action-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const providerId = providerSel.value;
          const expertId = expertSel.value;
          if (!providerId && !expertId) {
            problem.textContent = t.needTarget;
            problem.hidden = false;
            providerSel.focus();
            return;
          }
          problem.hidden = true;
          const label = [providerSel.selectedOptions[0], expertSel.selectedOptions[0]]
            .filter((o) => o && o.value)
            .map((o) => o!.value)
            .join(" + ");
          void act(
            (etag) =>
              triage.routeQuestion({
                ...base,
                etag,
                providerId,
                expertId,
                category: Number(category.value) as Category,
                reason: reason.value.trim(),
              }),
            () => t.routedTo(label),
          );
        },
      },
      h(
        "fieldset",
        null,
        h("legend", null, t.routeElsewhere),
        field(t.provider, providerSel),
        field(t.expert, expertSel),
        field(t.search, search),
        hitCount,
        hits,
        field(t.categoryChange, category),
        field(t.optionalReason, reason),
        problem,
        h("button", { type: "submit", id: "route-submit", class: "primary" }, t.route),
      ),
    );
    return form;
  }

  function duplicateForm(similar: SimilarQuestion[], base: { id: string; actor: string }): HTMLElement {
    const original = h(
      "select",
      { id: "dup-original", name: "original" },
      similar.map((s) => h("option", { value: s.id }, `${s.id}: ${clip(s.text, 60)} (${percent(s.score)})`)),
    );
    const reason = h("textarea", { id: "dup-reason", rows: "2", maxlength: "1000" });
    return h(
      "form",
      {
        id: "dup-form",
        class: "action-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const originalId = original.value;
          void act(
            (etag) => triage.markDuplicate({ ...base, etag, originalId, reason: reason.value.trim() }),
            () => `${t.done} ${t.duplicateOf} ${originalId}.`,
          );
        },
      },
      h(
        "fieldset",
        null,
        h("legend", null, t.duplicateTitle),
        field(t.original, original),
        field(t.optionalReason, reason),
        h("button", { type: "submit", id: "dup-submit" }, t.markDuplicate),
      ),
    );
  }

  function answerForm(base: { id: string; actor: string }): HTMLElement {
    const text = h("textarea", { id: "answer-text", rows: "5", required: true, maxlength: "100000" });
    const sources = h("textarea", { id: "answer-sources", rows: "2" });
    const review = h("input", { id: "answer-review", type: "date" });
    return h(
      "form",
      {
        id: "answer-form",
        class: "action-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const reviewAfter = review.value ? timestampFromDate(new Date(`${review.value}T00:00:00`)) : undefined;
          void act(
            (etag) =>
              questions.answerQuestion({
                ...base,
                etag,
                answer: text.value.trim(),
                sources: sources.value.split("\n").map((s) => s.trim()).filter(Boolean),
                reviewAfter,
              }),
            done,
          );
        },
      },
      h(
        "fieldset",
        null,
        h("legend", null, t.answerTitle),
        field(t.answerText, text),
        field(t.sourcesLabel, sources),
        field(t.reviewLabel, review),
        h("button", { type: "submit", id: "answer-submit", class: "primary" }, t.answerSubmit),
      ),
    );
  }

  const el = h(
    "section",
    { class: "view question-view", "aria-labelledby": "question-title" },
    h("p", null, h("a", { href: "#/", class: "back" }, `← ${t.back}`)),
    heading,
    notice,
    message,
    body,
  );
  void load();

  return {
    el,
    heading,
    onEvent(e: QuestionEvent) {
      if (e.questionId !== id || !state || busy || e.etag === state.q.etag) return;
      // Someone else changed it: say so, but keep what the person typed.
      replace(notice, h("p", null, t.changedMeanwhile(e.onBehalfOf || e.actor, t.statuses[e.toStatus])), reloadButton("q-notice-reload"));
      notice.hidden = false;
    },
    onReconnect() {
      if (!state) return;
      const seen = state.q.etag;
      questions.getQuestion({ id }).then(
        (q) => {
          if (q.etag !== seen && state && state.q.etag === seen) {
            replace(notice, h("p", null, t.changedMeanwhile("?", t.statuses[q.status])), reloadButton("q-notice-reload"));
            notice.hidden = false;
          }
        },
        () => {},
      );
    },
  };
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function field(label: string, control: HTMLElement): HTMLElement {
  if (!control.id) control.id = uid("f");
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control);
}

function simpleButton(name: string, label: string, run: () => void): HTMLElement {
  return h("p", null, h("button", { type: "button", id: `${name}-submit`, class: "primary", onclick: run }, label));
}

function reasonForm(name: string, title: string, label: string, required: boolean, run: (reason: string) => void): HTMLElement {
  const reason = h("textarea", { id: `${name}-reason`, rows: "2", required, maxlength: "1000" });
  return h(
    "form",
    {
      id: `${name}-form`,
      class: "action-form",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        run(reason.value.trim());
      },
    },
    h(
      "fieldset",
      null,
      h("legend", null, title),
      field(required ? t.requiredReason : t.optionalReason, reason),
      h("button", { type: "submit", id: `${name}-submit` }, label),
    ),
  );
}

function details(q: Question): HTMLElement {
  const c = q.classification;
  const rows: [string, Child][] = [
    [t.status, h("span", { class: `status status-${q.status}`, id: "q-status" }, t.statuses[q.status])],
    [t.askedBy, `${q.organizationName} (${t.orgTypes[q.organizationType]})${q.region ? `, ${q.region}` : ""}`],
    [t.submitted, when(q.submittedAt)],
    [t.category, `${categoryName(q.category)} (${t.confidence.toLowerCase()} ${percent(c?.confidence ?? 0)})`],
  ];
  if (q.portal) rows.push([t.portal, q.portal]);
  if (c?.themes.length) rows.push([t.themes, c.themes.map((x) => x.name).join(", ")]);
  if (q.triageReason && (q.status === Status.TRIAGE || q.status === Status.REOPENED)) {
    const cause = causeOf(q.triageCause);
    rows.push([t.why, [h("span", { class: `cause cause-${cause}` }, causeName(cause)), " ", q.triageReason]]);
  }
  const assigned = [q.providerId, q.expertId].filter(Boolean).join(" + ");
  rows.push([t.assigned, h("span", { id: "q-assigned" }, assigned || t.nobody)]);
  if (q.duplicateOf) rows.push([t.duplicateOf, h("a", { href: `#/q/${q.duplicateOf}` }, q.duplicateOf)]);
  return h(
    "section",
    { class: "card", "aria-labelledby": "q-text-title" },
    h("h2", { id: "q-text-title", class: "visually-hidden" }, t.text),
    h("blockquote", { class: "q-text", id: "q-text" }, q.text),
    h("dl", { class: "facts" }, rows.map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v)))),
    q.answer
      ? h(
          "div",
          { class: "answer" },
          h("h3", null, t.answer),
          h("p", { class: "pre" }, q.answer.text),
          q.answer.sources.length
            ? h("p", null, `${t.sources}: `, q.answer.sources.map((s, i) => [i ? ", " : "", link(s)]))
            : null,
          q.answer.reviewAfter ? h("p", { class: "muted" }, `${t.reviewAfter}: ${day(q.answer.reviewAfter)}`) : null,
        )
      : null,
  );
}

function link(s: string): Child {
  return /^https?:\/\//.test(s) ? h("a", { href: s, rel: "noopener noreferrer", target: "_blank" }, s) : s;
}

function terms(ms: MatchedTerm[]): HTMLElement {
  return h(
    "ul",
    { class: "terms" },
    ms.map((m) => {
      let words: string;
      if (m.via === "THEME") words = `${t.via.THEME} “${m.matched}”`;
      else if (m.via === "DEDICATED") words = t.via.DEDICATED;
      else words = t.matchedAs(m.term, m.matched, t.via[m.via] ?? m.via.toLowerCase());
      return h("li", { class: "term" }, words, " ", h("span", { class: "contrib" }, `+${num(m.contribution)}`));
    }),
  );
}

function rankedSection(kind: string, title: string, ms: RankedMatch[], choose: (m: RankedMatch) => void): HTMLElement {
  const titleId = `${kind}-title`;
  return h(
    "section",
    { class: "card", "aria-labelledby": titleId },
    h("h2", { id: titleId }, title),
    ms.length
      ? h(
          "ol",
          { class: "ranked", id: `ranked-${kind}` },
          ms.map((m, i) =>
            h(
              "li",
              { "data-id": m.id, "data-rank": String(i + 1) },
              h(
                "div",
                { class: "ranked-head" },
                h("strong", null, m.name),
                " ",
                h("span", { class: "muted" }, `(${m.id}) · ${t.score} ${num(m.score)}`),
                h(
                  "button",
                  { type: "button", class: "secondary choose", onclick: () => choose(m) },
                  t.choose(""),
                  h("span", { class: "visually-hidden" }, m.name),
                ),
              ),
              m.matchedTerms.length ? [h("h3", { class: "small" }, t.matchedTerms), terms(m.matchedTerms)] : null,
              m.fitReasons.length
                ? [h("h3", { class: "small" }, t.fitReasons), h("ul", { class: "fit" }, m.fitReasons.map((r) => h("li", null, fitReason(r))))]
                : null,
            ),
          ),
        )
      : h("p", { class: "muted" }, t.noneRanked),
  );
}

function similarSection(q: Question, similar: SimilarQuestion[], choose: (id: string) => void): HTMLElement {
  const canMark = q.status === Status.TRIAGE || q.status === Status.REOPENED;
  return h(
    "section",
    { class: "card", "aria-labelledby": "similar-title" },
    h("h2", { id: "similar-title" }, t.similar),
    similar.length
      ? h(
          "ol",
          { class: "similar", id: "similar" },
          similar.map((s) =>
            h(
              "li",
              { "data-id": s.id },
              h(
                "p",
                null,
                h("a", { href: `#/q/${encodeURIComponent(s.id)}` }, s.id),
                ` · ${t.similarity} ${percent(s.score)} · ${t.statuses[s.status]}`,
              ),
              h("p", { class: "q-text small" }, s.text),
              s.answer ? h("p", { class: "answer pre" }, `${t.answer}: ${s.answer}`) : h("p", { class: "muted" }, t.noAnswerYet),
              canMark
                ? h("button", { type: "button", class: "secondary mark-dup", onclick: () => choose(s.id) }, t.markDuplicateOf(s.id))
                : null,
            ),
          ),
        )
      : h("p", { class: "muted" }, t.similarNone),
  );
}

function historySection(events: HistoryEvent[]): HTMLElement {
  return h(
    "section",
    { class: "card", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, t.history),
    events.length
      ? h(
          "ol",
          { class: "history", id: "history" },
          events.map((e) =>
            h(
              "li",
              null,
              h("time", null, when(e.time)),
              " ",
              h("strong", null, t.actionNames[e.action]),
              ` (${t.statuses[e.fromStatus]} → ${t.statuses[e.toStatus]}) ${t.by} ${e.actor}`,
              e.onBehalfOf ? ` ${t.onBehalfOf} ${e.onBehalfOf}` : "",
              e.reason ? h("div", { class: "muted" }, `${t.reasonLabel}: ${e.reason}`) : null,
              e.changes.length
                ? h("ul", { class: "changes" }, e.changes.map((c) => h("li", null, `${c.field}: ${c.before || "–"} → ${c.after || "–"}`)))
                : null,
            ),
          ),
        )
      : h("p", { class: "muted" }, t.historyEmpty),
  );
}
