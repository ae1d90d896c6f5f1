// The shell: header, navigation by `#/…`, the token dialog and the one live
// event stream that every view is told about.

import "uplot/dist/uPlot.min.css";
import "./app.css";
import { Code } from "@connectrpc/connect";
import { actor, askToken, forgetToken, isCode, questions, setActor, setTokenPrompt, setWatchOpen, token } from "./api";
import { h, replace } from "./dom";
import { lang, t } from "./i18n";
import { leadTimesView } from "./insights";
import { listsView } from "./lists";
import { questionView } from "./question";
import { queueView } from "./queue";
import type { View } from "./view";

document.documentElement.lang = lang;
document.title = t.title;

const main = document.getElementById("main")!;
const live = document.getElementById("live")!;
let current: View | null = null;

function setupHeader(): void {
  document.getElementById("skip")!.textContent = t.skip;
  const nav = document.getElementById("nav")!;
  nav.setAttribute("aria-label", t.mainNav);
  replace(
    nav,
    h(
      "ul",
      null,
      h("li", null, h("a", { href: "#/", "data-nav": "queue" }, t.navQueue)),
      h("li", null, h("a", { href: "#/lead-times", "data-nav": "lead-times" }, t.navLeadTimes)),
      h("li", null, h("a", { href: "#/lists", "data-nav": "lists" }, t.navLists)),
    ),
  );
  const actorBox = document.getElementById("actor-box")!;
  const input = h("input", { id: "actor", type: "text", autocomplete: "name", value: actor(), maxlength: "200" });
  input.addEventListener("change", () => setActor(input.value));
  const forget = h("button", { type: "button", class: "secondary", id: "forget-token", hidden: !token() }, t.tokenForget);
  forget.addEventListener("click", () => {
    forgetToken();
    forget.hidden = true;
  });
  replace(actorBox, h("label", { for: "actor" }, t.actorLabel), input, forget);
  setLive("connecting");
}

function setLive(state: "on" | "off" | "connecting"): void {
  live.dataset.live = state;
  live.textContent = state === "on" ? t.liveOn : state === "off" ? t.liveOff : t.liveConnecting;
}

/** The token dialog; resolves with the token, or null when cancelled. */
function promptToken(): Promise<string | null> {
  const dialog = document.getElementById("token-dialog") as HTMLDialogElement;
  const input = h("input", { id: "token-input", type: "password", autocomplete: "off", required: true });
  return new Promise((resolve) => {
    const form = h(
      "form",
      { method: "dialog" },
      h("h2", { id: "token-title" }, t.tokenTitle),
      h("p", null, t.tokenIntro),
      h("div", { class: "field" }, h("label", { for: "token-input" }, t.tokenLabel), input),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "submit", value: "ok", class: "primary" }, t.tokenSave),
        h("button", { type: "submit", value: "cancel", formnovalidate: true, class: "secondary" }, t.tokenCancel),
      ),
    );
    dialog.setAttribute("aria-labelledby", "token-title");
    replace(dialog, form);
    dialog.addEventListener(
      "close",
      () => {
        const ok = dialog.returnValue === "ok" && input.value.trim() !== "";
        if (ok) document.getElementById("forget-token")?.removeAttribute("hidden");
        resolve(ok ? input.value.trim() : null);
      },
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
}

let first = true;
function route(): void {
  const hash = location.hash.replace(/^#\/?/, "");
  let view: View;
  let nav = "queue";
  if (hash.startsWith("q/")) view = questionView(decodeURIComponent(hash.slice(2)));
  else if (hash === "lead-times") {
    view = leadTimesView();
    nav = "lead-times";
  } else if (hash === "lists") {
    view = listsView();
    nav = "lists";
  } else view = queueView();
  for (const a of document.querySelectorAll<HTMLAnchorElement>("#nav a")) {
    if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  current = view;
  replace(main, view.el);
  // Moving focus on the first load would only hide the skip link.
  if (!first) view.heading.focus();
  first = false;
}

/** One stream for the page's lifetime; reconnects with backoff. */
async function watch(): Promise<void> {
  let delay = 1000;
  let opened = 0;
  setWatchOpen(() => {
    setLive("on");
    delay = 1000;
    opened += 1;
    if (opened > 1) current?.onReconnect?.();
  });
  for (;;) {
    try {
      for await (const e of questions.watchEvents({})) current?.onEvent?.(e);
    } catch (e) {
      if (isCode(e, Code.Unauthenticated)) await askToken();
    }
    setLive("off");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 30000);
  }
}

setTokenPrompt(promptToken);
setupHeader();
window.addEventListener("hashchange", route);
route();
void watch();
