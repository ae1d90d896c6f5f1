"""Similar-question quality on the independent paraphrase sets, through the API, beside plain TF-IDF cosine.

For each set (default: tests/data/paraphrases.jsonl and tests/data/paraphrases2.jsonl), stores every
`original` in the running server and asks FindSimilarQuestions with each `query`:

* a paraphrase should find its original: recall@1 and recall@3;
* a look-alike (same topic, another need) should not: how often its original is ranked first.

Then every original is answered (routed, accepted, answered through the API) and every query is
submitted: the server's own duplicate decision sends a query to triage as "asked and answered
before: <id>" when it takes it for an answered question. Counted: false duplicate links (a look-alike
linked to its original) and found duplicates (a paraphrase linked to its original). For TF-IDF the
"link" is a first place scoring at least `--duplicate-threshold` (the server's
`[reuse] duplicate_threshold`, default 0.8).

The same figures for plain TF-IDF cosine (lower-cased words, idf over the stored originals) are
printed beside them: the baseline issue 12 compares against. Each set needs its own empty server,
since the stored originals of one set are distractors the other set never saw.

    kicer serve --listen 127.0.0.1:0 --data-dir $(mktemp -d) &      # prints its address
    python benches/paraphrases.py 127.0.0.1:PORT [--set tests/data/paraphrases2.jsonl]

With the semantic path (an embedding service in the server's `[similar]` table, see
docs/operations.md), add `--wait-embeddings 300` so the originals are embedded before the searches;
`benches/paraphrases.sh` runs both paths on both sets and starts the embedding service itself.

Uses the reflection client of .ci/external_client.py (pip install -r .ci/requirements.txt).
"""
import argparse
import json
import math
import os
import re
import sys
import time
from collections import Counter

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(root, ".ci"))


def words(text):
    return re.findall(r"\w+", text.lower())


class Tfidf:
    """Plain TF-IDF cosine over the stored originals: the baseline."""

    def __init__(self, docs):
        self.docs = docs
        df = Counter()
        for d in docs.values():
            df.update(set(words(d)))
        self.idf = {w: math.log(len(docs) / n) + 1.0 for w, n in df.items()}
        self.vecs = {k: self.vec(d) for k, d in docs.items()}

    def vec(self, text):
        tf = Counter(w for w in words(text) if w in self.idf)
        v = {w: c * self.idf[w] for w, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {w: x / norm for w, x in v.items()}

    def top(self, text, n):
        q = self.vec(text)
        scored = [(sum(q.get(w, 0.0) * x for w, x in v.items()), k) for k, v in self.vecs.items()]
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [(k, s) for s, k in scored[:n] if s > 0]


def measure(name, rows, top, threshold):
    para = [r for r in rows if r["relation"] == "paraphrase"]
    look = [r for r in rows if r["relation"] == "lookalike"]
    r1 = sum(r["id"] in [k for k, _ in top(r["query"]["text"], 1)] for r in para)
    r3 = sum(r["id"] in [k for k, _ in top(r["query"]["text"], 3)] for r in para)
    first = 0
    linked = 0
    for r in look:
        hits = top(r["query"]["text"], 1)
        if hits and hits[0][0] == r["id"]:
            first += 1
            linked += hits[0][1] >= threshold
    print(
        f"  {name:<8} paraphrase recall@1 {r1}/{len(para)} = {r1 / len(para):.3f}, "
        f"recall@3 {r3}/{len(para)} = {r3 / len(para):.3f}; look-alike ranked first "
        f"{first}/{len(look)} = {first / len(look):.3f}, false duplicate links {linked}/{len(look)}"
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("address", help="HOST:PORT of a kicer server with an empty store")
    p.add_argument("--set", default=None, help="one paraphrase set (JSON Lines); default: the first set")
    p.add_argument("--duplicate-threshold", type=float, default=0.8)
    p.add_argument("--wait-embeddings", type=float, default=0.0, metavar="SECONDS",
                   help="for a server with [similar] embeddings_url: wait up to this long for the stored "
                        "originals' embeddings before measuring")
    a = p.parse_args()
    import grpc
    from external_client import Api

    path = a.set or os.path.join(root, "tests/data/paraphrases.jsonl")
    rows = [json.loads(line) for line in open(path)]
    ch = grpc.insecure_channel(a.address)
    grpc.channel_ready_future(ch).result(timeout=15)
    api = Api(ch)
    ids = {}
    took = []
    for r in rows:
        o = r["original"]
        started = time.perf_counter()
        q = api.call("kicer.v1.QuestionService", "SubmitQuestion", text=o["text"], organization_name="Org",
                     organization_type="ORGANIZATION_TYPE_" + o["org_type"])
        took.append((time.perf_counter() - started) * 1000)
        ids[q["id"]] = r["id"]
    took.sort()
    print(f"submit, one client, {len(took)} originals: mean {sum(took) / len(took):.2f} ms, "
          f"p50 {took[len(took) // 2]:.2f} ms, p95 {took[int(len(took) * 0.95)]:.2f} ms")
    if a.wait_embeddings > 0:
        wait_for_embeddings(api, rows[-1]["original"]["text"], q["id"], a.wait_embeddings)

    blended = [0, 0]

    def kicer_top(text, n):
        got = api.call("kicer.v1.QuestionService", "FindSimilarQuestions", text=text, page_size=n)
        hits = got.get("similar", [])
        blended[0] += any("semantic_score" in h for h in hits)
        blended[1] += 1
        return [(ids.get(s["id"], s["id"]), s.get("score", 0.0)) for s in hits]

    tfidf = Tfidf({r["id"]: r["original"]["text"] for r in rows})
    print(f"{os.path.basename(path)}: {len(rows)} originals stored")
    measure("kicer", rows, kicer_top, a.duplicate_threshold)
    print(f"  (searches ranked with embeddings: {blended[0]}/{blended[1]})")
    measure("tf-idf", rows, tfidf.top, a.duplicate_threshold)
    links(api, rows, {v: k for k, v in ids.items()})


def wait_for_embeddings(api, text, last_id, limit):
    """Waits until the last stored original has its embedding: the server embeds in submission order,
    so then all have (a search for its own text shows a semantic score on it)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        got = api.call("kicer.v1.QuestionService", "FindSimilarQuestions", text=text, page_size=3)
        if any(h["id"] == last_id and "semantic_score" in h for h in got.get("similar", [])):
            print(f"embeddings of every original ready {time.perf_counter() - started:.1f} s after the last submit")
            return
        time.sleep(0.2)
    sys.exit(f"the originals had no embeddings after {limit} s: is [similar] embeddings_url set and its service up?")


def links(api, rows, qid):
    """Answers every original, submits every query, and counts the server's duplicate links."""
    qs = "kicer.v1.QuestionService"
    for r in rows:
        q = api.call(qs, "GetQuestion", id=qid[r["id"]])
        if q["status"] == "STATUS_TRIAGE":
            provider = next(iter(q.get("classification", {}).get("providers", [])), {}).get("id", "vng")
            q = api.call("kicer.v1.TriageService", "RouteQuestion", id=q["id"], provider_id=provider, etag=q["etag"])
        q = api.call(qs, "AcceptQuestion", id=q["id"], etag=q["etag"])
        api.call(qs, "AnswerQuestion", id=q["id"], etag=q["etag"], answer="See the attached guidance.")
    counts = {"paraphrase": [0, 0], "lookalike": [0, 0]}
    for r in rows:
        if r["relation"] not in counts:
            continue
        q = r["query"]
        got = api.call(qs, "SubmitQuestion", text=q["text"], organization_name="Org",
                       organization_type="ORGANIZATION_TYPE_" + q["org_type"])
        linked = got.get("triage_reason", "").startswith(f"asked and answered before: {qid[r['id']]} ")
        if linked and r["relation"] == "lookalike":
            print(f"   false link: {r['id']} ({got.get('triage_reason', '')})")
        counts[r["relation"]][0] += linked
        counts[r["relation"]][1] += 1
    (pf, pn), (lf, ln) = counts["paraphrase"], counts["lookalike"]
    print(f"  kicer    duplicate links (originals answered, queries submitted): false on look-alikes {lf}/{ln}, "
          f"found on paraphrases {pf}/{pn}")


if __name__ == "__main__":
    main()
