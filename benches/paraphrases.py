"""Similar-question quality on the independent set tests/data/paraphrases.jsonl, through the API.

Stores every `original` in a fresh server (no clients configured) and asks FindSimilarQuestions with each
`query`: a paraphrase should find its original (recall@1, recall@3), a look-alike should not rank its
original first. Uses the reflection client of .ci/external_client.py (pip install -r .ci/requirements.txt).

    kicer serve --listen 127.0.0.1:0 --data-dir $(mktemp -d) &   # prints its address
    python benches/paraphrases.py 127.0.0.1:PORT
"""
import json, sys
import os
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(root, ".ci"))
import grpc
from external_client import Api
addr = sys.argv[1]
ch = grpc.insecure_channel(addr); grpc.channel_ready_future(ch).result(timeout=15)
api = Api(ch)
rows = [json.loads(l) for l in open(os.path.join(root, "tests/data/paraphrases.jsonl"))]
ids = {}
for r in rows:
    o = r["original"]
    q = api.call("kicer.v1.QuestionService", "SubmitQuestion", text=o["text"], organization_name="Org",
                 organization_type="ORGANIZATION_TYPE_" + o["org_type"])
    ids[r["id"]] = q["id"]
para = [r for r in rows if r["relation"] == "paraphrase"]
look = [r for r in rows if r["relation"] == "lookalike"]
def top(text, n):
    return [s["id"] for s in api.call("kicer.v1.QuestionService", "FindSimilarQuestions", text=text, page_size=n).get("similar", [])]
r1 = sum(ids[r["id"]] in top(r["query"]["text"], 1) for r in para)
r3 = sum(ids[r["id"]] in top(r["query"]["text"], 3) for r in para)
lf = sum(ids[r["id"]] in top(r["query"]["text"], 1) for r in look)
print(f"paraphrase recall@1 {r1}/{len(para)} = {r1/len(para):.3f}, recall@3 {r3}/{len(para)} = {r3/len(para):.3f}; look-alike ranked first {lf}/{len(look)} = {lf/len(look):.3f}")
