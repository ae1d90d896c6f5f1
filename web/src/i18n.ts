// The page's words in Dutch (the default) and English (when the browser's
// first language is not Dutch), plus the readings of the engine's codes.

import { Action, Category, OrganizationType, Status, TriageCause } from "./gen/kicer/v1/common_pb";

const nl = {
  title: "kicer: triage",
  skip: "Naar de inhoud",
  navQueue: "Wachtrij",
  navLeadTimes: "Doorlooptijden",
  navLists: "Lacunes en herbeoordeling",
  mainNav: "Hoofdmenu",
  actorLabel: "Uw naam (voor de geschiedenis)",
  liveOn: "Live bijgewerkt",
  liveOff: "Geen live verbinding: opnieuw verbinden…",
  liveConnecting: "Verbinden…",
  loading: "Laden…",
  refresh: "Vernieuwen",
  loadMore: "Meer laden",
  queueTitle: "Triagewachtrij",
  queueIntro: "Vragen die de engine niet zelf kon routeren, meest urgent eerst.",
  queueEmpty: "De wachtrij is leeg.",
  queueCount: (n: number) => (n === 1 ? "1 vraag wacht" : `${n} vragen wachten`),
  priority: "Prioriteit",
  category: "Categorie",
  confidence: "Zekerheid",
  why: "Waarom in triage",
  askedBy: "Gevraagd door",
  submitted: "Ingediend",
  waiting: "wacht",
  leftQueue: (id: string, who: string, what: string) => `${id} is de wachtrij uit: ${what} door ${who}.`,
  newInQueue: (id: string) => `${id} staat nu in de wachtrij.`,
  causeNoCategory: "Geen categorie herkend",
  causeLowConfidence: "Categorie onzeker",
  causeNoProvider: "Geen aanbieder boven het minimum",
  causeDuplicate: "Mogelijk dubbel",
  causeDeclined: "Teruggegeven",
  causeReopened: "Heropend",
  causeOther: "Anders",
  back: "Terug naar de wachtrij",
  question: "Vraag",
  status: "Status",
  text: "Vraagtekst",
  asker: "Vrager",
  region: "Provincie",
  portal: "Portaal",
  assigned: "Toegewezen aan",
  nobody: "nog niemand",
  themes: "Thema's",
  knowledgeKind: "Soort kennis",
  answer: "Antwoord",
  sources: "Bronnen",
  reviewAfter: "Herbeoordelen na",
  duplicateOf: "Dubbel van",
  history: "Geschiedenis",
  historyEmpty: "Nog geen wijzigingen.",
  by: "door",
  onBehalfOf: "namens",
  reasonLabel: "Reden",
  providers: "Aanbieders, best passend eerst",
  experts: "Experts, best passend eerst",
  noneRanked: "De engine vond er geen.",
  score: "score",
  matchedTerms: "Gevonden termen",
  fitReasons: "Waarom de score zo is",
  choose: (name: string) => `Kies ${name}`,
  similar: "Soortgelijke eerdere vragen",
  similarNone: "Geen soortgelijke vragen gevonden.",
  similarity: "overeenkomst",
  noAnswerYet: "Nog geen antwoord.",
  markDuplicateOf: (id: string) => `Markeer als dubbel van ${id}`,
  actions: "Acties",
  noActions: "In deze status is er niets te doen.",
  confirmProposal: "Voorstel bevestigen",
  confirmProposalTo: (to: string) => `Voorstel bevestigen: routeren naar ${to}`,
  noProposal: "De engine heeft geen voorstel: routeer zelf hieronder.",
  routeElsewhere: "Elders routeren",
  provider: "Aanbieder",
  expert: "Expert",
  noProvider: "(geen aanbieder)",
  noExpert: "(geen expert)",
  ranked: "Gerangschikt voor deze vraag",
  allProviders: "Alle aanbieders",
  allExperts: "Alle experts",
  search: "Zoek in de gids (naam, id, term)",
  searchHits: (n: number) => (n === 1 ? "1 treffer" : `${n} treffers`),
  keepCategory: (c: string) => `Houden (${c})`,
  categoryChange: "Categorie (optioneel wijzigen)",
  optionalReason: "Reden (optioneel)",
  requiredReason: "Reden (verplicht)",
  route: "Routeren",
  needTarget: "Kies een aanbieder of een expert.",
  reject: "Afwijzen",
  rejectTitle: "Afwijzen met reden",
  duplicateTitle: "Markeren als dubbel",
  original: "Eerdere vraag",
  markDuplicate: "Markeer als dubbel",
  accept: "Aannemen",
  decline: "Teruggeven aan triage",
  wait: "Wachten op de vrager",
  resume: "Hervatten: de vrager heeft gereageerd",
  answerTitle: "Beantwoorden",
  answerText: "Antwoord",
  sourcesLabel: "Bronnen (één URL per regel, optioneel)",
  reviewLabel: "Herbeoordelen na (optioneel)",
  answerSubmit: "Antwoord opslaan",
  close: "Sluiten",
  reopen: "Heropenen",
  done: "Opgeslagen.",
  routedTo: (to: string) => `Gerouteerd naar ${to}.`,
  conflict:
    "Iemand anders heeft deze vraag gewijzigd nadat u haar opende. Uw wijziging is niet opgeslagen. Laad de vraag opnieuw, bekijk wat er veranderd is en probeer het daarna nog eens.",
  reload: "Vraag opnieuw laden",
  changedMeanwhile: (who: string, st: string) =>
    `Deze vraag is zojuist gewijzigd door ${who} (nu: ${st}). Laad haar opnieuw voordat u iets doet.`,
  failed: "Dat lukte niet",
  notFound: "Deze vraag bestaat niet (meer).",
  permission: "Uw token mag dit niet. Vraag de beheerder om een token met de rol triage.",
  unreachable: "De server is niet bereikbaar. Controleer de verbinding en probeer het opnieuw.",
  tokenTitle: "Toegangstoken nodig",
  tokenIntro:
    "Deze server vraagt om een token. Het wordt alleen in dit tabblad bewaard en verdwijnt als u het sluit.",
  tokenLabel: "Token",
  tokenSave: "Gebruiken",
  tokenCancel: "Annuleren",
  tokenForget: "Token vergeten",
  leadTitle: "Doorlooptijden",
  leadIntro: "Mediaan (p50, doorgetrokken) en p90 (gestreept) per categorie per maand.",
  metric: "Doorlooptijd",
  metricRoute: "Ontvangen → gerouteerd",
  metricFirst: "Gerouteerd → aangenomen",
  metricAnswer: "Ontvangen → beantwoord (wachten telt niet)",
  months: "Maanden terug",
  calendar: "Kalendertijd",
  working: "Werkuren (ma–vr 9–17, feestdagen niet)",
  noLeadData: "Nog geen doorlooptijden in deze maanden.",
  figures: "Cijfers als tabel",
  month: "Maand",
  count: "Aantal",
  ageTitle: "Leeftijd van open vragen",
  ageIntro: "Per status: mediaan en oudste leeftijd van de vragen die nu open staan.",
  median: "Mediaan",
  oldest: "Oudste",
  noOpen: "Er staan geen vragen open.",
  listsTitle: "Kennislacunes en herbeoordeling",
  gapsTitle: "Kennislacunes",
  gapsIntro:
    "Terugkerende vragen zonder zekere aanbieder of zonder antwoord, grootste eerst: waar kennis ontbreekt.",
  gapsNone: "Geen kennislacunes gevonden.",
  noTheme: "(geen thema)",
  questions: "vragen",
  unanswered: "zonder antwoord",
  unconfident: "zonder zekere aanbieder",
  examples: "Voorbeelden",
  reviewTitle: "Antwoorden toe aan herbeoordeling",
  reviewIntro: "Beantwoorde vragen waarvan de herbeoordelingsdatum voorbij is, vroegste eerst.",
  reviewNone: "Geen antwoorden toe aan herbeoordeling.",
  due: "sinds",
  seconds: "s",
  hours: "uur",
  minutes: "min",
  days: "dagen",
  via: {
    PHRASE: "als woordgroep",
    WORD: "als woord",
    STEM: "als woordstam",
    COMPOUND_PART: "als deel van een samengesteld woord",
    COMPOUND: "als deel van een samengesteld woord",
    TYPO: "met een tikfout",
    THEME: "via het thema",
    DEDICATED: "speciaal voor dit soort organisatie",
    CATEGORY: "via de categorie",
  } as Record<string, string>,
  matchedAs: (term: string, matched: string, via: string) => `“${matched}” → ${term} (${via})`,
  fit: {
    handles: (c: string) => `behandelt ${c}`,
    serves: (o: string) => `bedient ${o}`,
    notServes: (o: string) => `bedient geen ${o}`,
    inProvince: (p: string) => `werkt in ${p}`,
    outsideProvince: (p: string) => `regionaal, niet in ${p}`,
    provinceUnknown: "regionaal, provincie van de vrager onbekend",
    sameOrg: (o: string) => `werkt zelf ook bij een ${o}`,
  },
  categories: {
    [Category.UNSPECIFIED]: "geen categorie",
    [Category.STRATEGY]: "Strategie",
    [Category.COLLABORATION]: "Samenwerking",
    [Category.EXECUTION]: "Uitvoering",
    [Category.SPECIFIC]: "Specifiek",
  } as Record<number, string>,
  orgTypes: {
    [OrganizationType.UNSPECIFIED]: "onbekend",
    [OrganizationType.GEMEENTE]: "gemeente",
    [OrganizationType.PROVINCIE]: "provincie",
    [OrganizationType.WATERSCHAP]: "waterschap",
    [OrganizationType.RIJK]: "Rijk",
    [OrganizationType.OTHER]: "andere organisatie",
  } as Record<number, string>,
  statuses: {
    [Status.UNSPECIFIED]: "onbekend",
    [Status.RECEIVED]: "ontvangen",
    [Status.TRIAGE]: "in triage",
    [Status.ROUTED]: "gerouteerd",
    [Status.IN_PROGRESS]: "in behandeling",
    [Status.WAITING]: "wacht op vrager",
    [Status.ANSWERED]: "beantwoord",
    [Status.CLOSED]: "gesloten",
    [Status.REOPENED]: "heropend",
    [Status.REJECTED]: "afgewezen",
    [Status.DUPLICATE]: "dubbel",
  } as Record<number, string>,
  actionNames: {
    [Action.UNSPECIFIED]: "ingediend",
    [Action.ROUTE]: "gerouteerd",
    [Action.TRIAGE]: "naar triage",
    [Action.REJECT]: "afgewezen",
    [Action.MARK_DUPLICATE]: "als dubbel gemarkeerd",
    [Action.ACCEPT]: "aangenomen",
    [Action.DECLINE]: "teruggegeven",
    [Action.WAIT_FOR_ASKER]: "wacht op vrager",
    [Action.RESUME]: "hervat",
    [Action.ANSWER]: "beantwoord",
    [Action.CLOSE]: "gesloten",
    [Action.REOPEN]: "heropend",
    [Action.REVIEW_ANSWER]: "antwoord herbeoordeeld",
  } as Record<number, string>,
};

export type Dict = typeof nl;

const en: Dict = {
  title: "kicer: triage",
  skip: "Skip to content",
  navQueue: "Queue",
  navLeadTimes: "Lead times",
  navLists: "Gaps and reviews",
  mainNav: "Main menu",
  actorLabel: "Your name (for the history)",
  liveOn: "Live updates on",
  liveOff: "No live connection: reconnecting…",
  liveConnecting: "Connecting…",
  loading: "Loading…",
  refresh: "Refresh",
  loadMore: "Load more",
  queueTitle: "Triage queue",
  queueIntro: "Questions the engine could not route by itself, most urgent first.",
  queueEmpty: "The queue is empty.",
  queueCount: (n: number) => (n === 1 ? "1 question waits" : `${n} questions wait`),
  priority: "Priority",
  category: "Category",
  confidence: "Confidence",
  why: "Why in triage",
  askedBy: "Asked by",
  submitted: "Submitted",
  waiting: "waiting",
  leftQueue: (id: string, who: string, what: string) => `${id} left the queue: ${what} by ${who}.`,
  newInQueue: (id: string) => `${id} is now in the queue.`,
  causeNoCategory: "No category recognised",
  causeLowConfidence: "Category uncertain",
  causeNoProvider: "No provider above the minimum",
  causeDuplicate: "Possible duplicate",
  causeDeclined: "Sent back",
  causeReopened: "Reopened",
  causeOther: "Other",
  back: "Back to the queue",
  question: "Question",
  status: "Status",
  text: "Question text",
  asker: "Asker",
  region: "Province",
  portal: "Portal",
  assigned: "Assigned to",
  nobody: "nobody yet",
  themes: "Themes",
  knowledgeKind: "Kind of knowledge",
  answer: "Answer",
  sources: "Sources",
  reviewAfter: "Review after",
  duplicateOf: "Duplicate of",
  history: "History",
  historyEmpty: "No changes yet.",
  by: "by",
  onBehalfOf: "for",
  reasonLabel: "Reason",
  providers: "Providers, best fit first",
  experts: "Experts, best fit first",
  noneRanked: "The engine found none.",
  score: "score",
  matchedTerms: "Matched terms",
  fitReasons: "Why the score is what it is",
  choose: (name: string) => `Choose ${name}`,
  similar: "Similar earlier questions",
  similarNone: "No similar questions found.",
  similarity: "similarity",
  noAnswerYet: "No answer yet.",
  markDuplicateOf: (id: string) => `Mark as duplicate of ${id}`,
  actions: "Actions",
  noActions: "Nothing to do in this status.",
  confirmProposal: "Confirm the proposal",
  confirmProposalTo: (to: string) => `Confirm the proposal: route to ${to}`,
  noProposal: "The engine has no proposal: route it yourself below.",
  routeElsewhere: "Route elsewhere",
  provider: "Provider",
  expert: "Expert",
  noProvider: "(no provider)",
  noExpert: "(no expert)",
  ranked: "Ranked for this question",
  allProviders: "All providers",
  allExperts: "All experts",
  search: "Search the directory (name, id, term)",
  searchHits: (n: number) => (n === 1 ? "1 match" : `${n} matches`),
  keepCategory: (c: string) => `Keep (${c})`,
  categoryChange: "Category (optional change)",
  optionalReason: "Reason (optional)",
  requiredReason: "Reason (required)",
  route: "Route",
  needTarget: "Choose a provider or an expert.",
  reject: "Reject",
  rejectTitle: "Reject with a reason",
  duplicateTitle: "Mark as duplicate",
  original: "Earlier question",
  markDuplicate: "Mark as duplicate",
  accept: "Accept",
  decline: "Give back to triage",
  wait: "Wait for the asker",
  resume: "Resume: the asker replied",
  answerTitle: "Answer",
  answerText: "Answer",
  sourcesLabel: "Sources (one URL a line, optional)",
  reviewLabel: "Review after (optional)",
  answerSubmit: "Save the answer",
  close: "Close",
  reopen: "Reopen",
  done: "Saved.",
  routedTo: (to: string) => `Routed to ${to}.`,
  conflict:
    "Someone else changed this question after you opened it. Your change was not saved. Reload the question, look at what changed, then try again.",
  reload: "Reload the question",
  changedMeanwhile: (who: string, st: string) =>
    `This question was just changed by ${who} (now: ${st}). Reload it before you act.`,
  failed: "That did not work",
  notFound: "This question does not exist (any more).",
  permission: "Your token may not do this. Ask the operator for a token with the triage role.",
  unreachable: "The server cannot be reached. Check the connection and try again.",
  tokenTitle: "Access token needed",
  tokenIntro: "This server asks for a token. It is kept in this tab only and is gone when you close it.",
  tokenLabel: "Token",
  tokenSave: "Use it",
  tokenCancel: "Cancel",
  tokenForget: "Forget the token",
  leadTitle: "Lead times",
  leadIntro: "Median (p50, solid) and p90 (dashed) per category per month.",
  metric: "Lead time",
  metricRoute: "Received → routed",
  metricFirst: "Routed → accepted",
  metricAnswer: "Received → answered (waiting excluded)",
  months: "Months back",
  calendar: "Calendar time",
  working: "Working hours (Mon–Fri 9–17, holidays excluded)",
  noLeadData: "No lead times in these months yet.",
  figures: "Figures as a table",
  month: "Month",
  count: "Count",
  ageTitle: "Ages of open questions",
  ageIntro: "Per status: median and oldest age of the questions open now.",
  median: "Median",
  oldest: "Oldest",
  noOpen: "No questions are open.",
  listsTitle: "Knowledge gaps and reviews",
  gapsTitle: "Knowledge gaps",
  gapsIntro: "Recurring questions without a confident provider or an answer, largest first: where knowledge is missing.",
  gapsNone: "No knowledge gaps found.",
  noTheme: "(no theme)",
  questions: "questions",
  unanswered: "unanswered",
  unconfident: "without a confident provider",
  examples: "Examples",
  reviewTitle: "Answers due for review",
  reviewIntro: "Answered questions whose review date has passed, earliest first.",
  reviewNone: "No answers are due for review.",
  due: "since",
  seconds: "s",
  hours: "h",
  minutes: "min",
  days: "days",
  via: {
    PHRASE: "as a phrase",
    WORD: "as a word",
    STEM: "by its stem",
    COMPOUND_PART: "as part of a compound",
    COMPOUND: "as part of a compound",
    TYPO: "with a typo",
    THEME: "through the theme",
    DEDICATED: "dedicated to this kind of organisation",
    CATEGORY: "through the category",
  },
  matchedAs: (term: string, matched: string, via: string) => `“${matched}” → ${term} (${via})`,
  fit: {
    handles: (c: string) => `handles ${c}`,
    serves: (o: string) => `serves ${o}`,
    notServes: (o: string) => `does not serve ${o}`,
    inProvince: (p: string) => `works in ${p}`,
    outsideProvince: (p: string) => `regional, not in ${p}`,
    provinceUnknown: "regional, the asker's province is unknown",
    sameOrg: (o: string) => `also works at a ${o}`,
  },
  categories: {
    [Category.UNSPECIFIED]: "no category",
    [Category.STRATEGY]: "Strategy",
    [Category.COLLABORATION]: "Collaboration",
    [Category.EXECUTION]: "Execution",
    [Category.SPECIFIC]: "Specific",
  },
  orgTypes: {
    [OrganizationType.UNSPECIFIED]: "unknown",
    [OrganizationType.GEMEENTE]: "municipality",
    [OrganizationType.PROVINCIE]: "province",
    [OrganizationType.WATERSCHAP]: "water board",
    [OrganizationType.RIJK]: "national government",
    [OrganizationType.OTHER]: "other organisation",
  },
  statuses: {
    [Status.UNSPECIFIED]: "unknown",
    [Status.RECEIVED]: "received",
    [Status.TRIAGE]: "in triage",
    [Status.ROUTED]: "routed",
    [Status.IN_PROGRESS]: "in progress",
    [Status.WAITING]: "waiting for the asker",
    [Status.ANSWERED]: "answered",
    [Status.CLOSED]: "closed",
    [Status.REOPENED]: "reopened",
    [Status.REJECTED]: "rejected",
    [Status.DUPLICATE]: "duplicate",
  },
  actionNames: {
    [Action.UNSPECIFIED]: "submitted",
    [Action.ROUTE]: "routed",
    [Action.TRIAGE]: "to triage",
    [Action.REJECT]: "rejected",
    [Action.MARK_DUPLICATE]: "marked duplicate",
    [Action.ACCEPT]: "accepted",
    [Action.DECLINE]: "declined",
    [Action.WAIT_FOR_ASKER]: "waiting for asker",
    [Action.RESUME]: "resumed",
    [Action.ANSWER]: "answered",
    [Action.CLOSE]: "closed",
    [Action.REOPEN]: "reopened",
    [Action.REVIEW_ANSWER]: "answer reviewed",
  },
};

/** `nl` unless the browser prefers another language first (`?lang=` overrides). */
export function chooseLanguage(): "nl" | "en" {
  const forced = new URLSearchParams(location.search).get("lang");
  if (forced === "nl" || forced === "en") return forced;
  const first = (navigator.languages && navigator.languages[0]) || navigator.language || "nl";
  return first.toLowerCase().startsWith("nl") ? "nl" : "en";
}

export const lang = chooseLanguage();
export const t: Dict = lang === "nl" ? nl : en;
export const locale = lang === "nl" ? "nl-NL" : "en-GB";

/** The category name from a proto enum or from an enum name (`STRATEGY`). */
export function categoryName(c: Category | string): string {
  if (typeof c === "number") return t.categories[c] ?? String(c);
  const key = c.replace(/^CATEGORY_/, "") as keyof typeof Category;
  const v = Category[key];
  return typeof v === "number" ? t.categories[v] : c;
}

function orgName(code: string): string {
  const v = OrganizationType[code.replace(/^ORGANIZATION_TYPE_/, "") as keyof typeof OrganizationType];
  return typeof v === "number" ? t.orgTypes[v] : code;
}

/**
 * A fit reason as a person reads it. The engine writes them in English
 * (`serves GEMEENTE ×1.20`); known shapes are put in words, anything else is
 * shown as written.
 */
export function fitReason(r: string): string {
  const m = /^(.*?)\s*×([\d.]+)$/.exec(r);
  if (!m) return r;
  const [, what, factor] = m;
  const f = Number(factor);
  const effect = `×${f.toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  let words: string | undefined;
  let x: RegExpExecArray | null;
  if ((x = /^handles (\w+)$/.exec(what))) words = t.fit.handles(categoryName(x[1]));
  else if ((x = /^serves (\w+)$/.exec(what))) words = t.fit.serves(orgName(x[1]));
  else if ((x = /^does not serve (\w+)$/.exec(what))) words = t.fit.notServes(orgName(x[1]));
  else if ((x = /^works in (.+)$/.exec(what))) words = t.fit.inProvince(x[1]);
  else if ((x = /^regional, not in (.+)$/.exec(what))) words = t.fit.outsideProvince(x[1]);
  else if (/^regional, asker's province unknown$/.test(what)) words = t.fit.provinceUnknown;
  else if ((x = /^also works at a (\w+)$/.exec(what))) words = t.fit.sameOrg(orgName(x[1]));
  return `${words ?? what} (${effect})`;
}

/** Why a question waits, in few kinds: the server's TriageCause (also a CSS class). */
export type Cause = "no_category" | "low_confidence" | "no_provider" | "possible_duplicate" | "declined" | "reopened" | "other";

export function causeOf(cause: TriageCause): Cause {
  switch (cause) {
    case TriageCause.NO_CATEGORY:
      return "no_category";
    case TriageCause.LOW_CONFIDENCE:
      return "low_confidence";
    case TriageCause.NO_PROVIDER:
      return "no_provider";
    case TriageCause.POSSIBLE_DUPLICATE:
      return "possible_duplicate";
    case TriageCause.DECLINED:
      return "declined";
    case TriageCause.REOPENED:
      return "reopened";
    default:
      return "other";
  }
}

export function causeName(c: Cause): string {
  switch (c) {
    case "no_category":
      return t.causeNoCategory;
    case "low_confidence":
      return t.causeLowConfidence;
    case "no_provider":
      return t.causeNoProvider;
    case "possible_duplicate":
      return t.causeDuplicate;
    case "declined":
      return t.causeDeclined;
    case "reopened":
      return t.causeReopened;
    default:
      return t.causeOther;
  }
}
