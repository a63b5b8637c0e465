import { expect, test } from "bun:test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, Dispatcher, request } from "../../../../src/core/registry/undici.ts";

test("request sends method, path and query through the given dispatcher; dispatchers get connect() for ProxyAgent's tunnel", async () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push(`${req.method} ${req.url} ${req.headers["x-probe"]} ${body}`);
      res.writeHead(201, { "x-answer": "yes" });
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const agent = new Agent();
  try {
    const res = await request(new URL(`${base}/v2/x/blobs/uploads/?digest=sha256%3Aab`), { method: "PUT", headers: { "x-probe": "1" }, body: "data", dispatcher: agent });
    expect(res.statusCode).toBe(201);
    expect(res.headers["x-answer"]).toBe("yes");
    expect(await res.body.text()).toBe("ok");
    const plain = await request(`${base}/plain`, { dispatcher: agent });
    await plain.body.dump();
    expect(seen).toEqual(["PUT /v2/x/blobs/uploads/?digest=sha256%3Aab 1 data", "GET /plain undefined "]);
    expect(typeof (Dispatcher.prototype as unknown as Record<string, unknown>).connect).toBe("function");
  } finally {
    await agent.close();
    server.close();
  }
});
