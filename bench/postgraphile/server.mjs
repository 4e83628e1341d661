// PostGraphile v5 served by grafserv on node:http, in WORKERS processes (node:cluster) sharing PORT: as many
// Node processes as RusToK has uvicorn workers. Started and stopped by bench/api_throughput.py.
//
//   DATABASE_URL=… PORT=5678 WORKERS=2 node_modules/.bin/node server.mjs
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset from "./graphile.config.mjs";

const workers = Number(process.env.WORKERS ?? 2);
const port = Number(process.env.PORT ?? 5678);
const host = process.env.HOST ?? "127.0.0.1";

if (cluster.isPrimary && workers > 1) {
  let stopping = false;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      console.error(`postgraphile: worker ${worker.process.pid} exited (${signal ?? code}); stopping`);
      stop(1);
    }
  });
  const stop = (code) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    setTimeout(() => process.exit(code), 200).unref();
  };
  process.on("SIGTERM", () => stop(0));
  process.on("SIGINT", () => stop(0));
} else {
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  server.keepAliveTimeout = 65_000;
  server.on("error", (error) => {
    console.error(`postgraphile: ${error.message}`);
    process.exit(1);
  });
  serv.addTo(server).catch((error) => {
    console.error(`postgraphile: ${error.stack ?? error}`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    if (cluster.isPrimary || cluster.worker?.id === 1) console.error(`postgraphile: listening on http://${host}:${port}/graphql`);
  });
  const stop = () => {
    server.close();
    Promise.resolve(pgl.release()).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
