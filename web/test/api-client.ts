// The e2e test's own view of the server: the generated clients over real
// gRPC (HTTP/2), independent of the page's gRPC-Web transport. Bundled by
// e2e.mjs with esbuild before use.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { QuestionService } from "../src/gen/kicer/v1/questions_pb";
import { TriageService } from "../src/gen/kicer/v1/triage_pb";
import { Status } from "../src/gen/kicer/v1/common_pb";

export function clients(baseUrl: string) {
  const transport = createGrpcTransport({ baseUrl });
  return {
    questions: createClient(QuestionService, transport),
    triage: createClient(TriageService, transport),
    Status,
  };
}
