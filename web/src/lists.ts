// The knowledge-gaps report and the answers due for review, as two lists.

import { explain, insights, questions } from "./api";
import { h, replace } from "./dom";
import { day } from "./format";
import { categoryName, t } from "./i18n";
import type { View } from "./view";

export function listsView(): View {
  const heading = h("h1", { id: "lists-title", tabindex: "-1" }, t.listsTitle);
  const gaps = h("div", { id: "gaps" }, h("p", { class: "muted" }, t.loading));
  const due = h("div", { id: "due" }, h("p", { class: "muted" }, t.loading));

  insights.getKnowledgeGaps({}).then(
    (res) =>
      replace(
        gaps,
        res.gaps.length
          ? h(
              "ol",
              { class: "plain-list", id: "gaps-list" },
              res.gaps.map((g) =>
                h(
                  "li",
                  null,
                  h("strong", null, `${g.themeName || t.noTheme} · ${categoryName(g.category)}`),
                  h(
                    "p",
                    null,
                    `${g.questions} ${t.questions}, ${g.unanswered} ${t.unanswered}, ${g.unconfident} ${t.unconfident}. `,
                    g.organizationTypes.map((o) => `${t.orgTypes[o.organizationType]} ${o.questions}`).join(", "),
                  ),
                  g.examples.length
                    ? h(
                        "ul",
                        { class: "examples", "aria-label": t.examples },
                        g.examples.map((q) => h("li", null, h("a", { href: `#/q/${encodeURIComponent(q.id)}` }, q.id), ` ${q.text}`)),
                      )
                    : null,
                ),
              ),
            )
          : h("p", { class: "muted" }, t.gapsNone),
      ),
    (e) => replace(gaps, h("p", { class: "message error", role: "alert" }, explain(e))),
  );

  questions.listDueForReview({ pageSize: 100 }).then(
    (res) =>
      replace(
        due,
        res.questions.length
          ? h(
              "ol",
              { class: "plain-list", id: "due-list" },
              res.questions.map((q) =>
                h(
                  "li",
                  null,
                  h("a", { href: `#/q/${encodeURIComponent(q.id)}` }, q.id),
                  ` · ${t.due} ${day(q.answer?.reviewAfter)} · ${q.text}`,
                  q.answer ? h("p", { class: "muted pre" }, `${t.answer}: ${q.answer.text}`) : null,
                ),
              ),
            )
          : h("p", { class: "muted" }, t.reviewNone),
      ),
    (e) => replace(due, h("p", { class: "message error", role: "alert" }, explain(e))),
  );

  const el = h(
    "section",
    { class: "view", "aria-labelledby": "lists-title" },
    heading,
    h("section", { class: "card", "aria-labelledby": "gaps-title" }, h("h2", { id: "gaps-title" }, t.gapsTitle), h("p", null, t.gapsIntro), gaps),
    h("section", { class: "card", "aria-labelledby": "review-title" }, h("h2", { id: "review-title" }, t.reviewTitle), h("p", null, t.reviewIntro), due),
  );
  return { el, heading };
}
