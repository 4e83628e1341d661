// PostGraphile v5 as the benchmark's peer (bench/api_throughput.py): the `public` schema of the RusToK database,
// reached as the application role (not superuser, not owner, not BYPASSRLS), so row-level security applies.
//
// Every table's policy requires `rustok.tenant_id`; the request's tenant, user and role arrive as headers and
// become transaction-local settings (pgSettings), as RusToK's rustok.set_context does. The benchmark trusts these
// headers: it spares PostGraphile the JWT check that RusToK does per request, so the comparison favours the peer.
//
// Environment: DATABASE_URL (the application role's URL, `rustok db url`), PORT.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

const setting = (value) => (typeof value === "string" && value !== "" ? value : undefined);

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  // No global Node IDs: the `id` column keeps its name (RusToK's `User.id`), and no extra work per row.
  disablePlugins: ["NodePlugin"],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      // node-postgres' default pool (10 connections) per process, like RusToK's pool (max 10) per worker.
    }),
  ],
  grafast: {
    explain: false,
    context(requestContext) {
      const headers = requestContext.node?.req?.headers ?? {};
      return {
        pgSettings: {
          "rustok.tenant_id": setting(headers["x-rustok-tenant-id"]),
          "rustok.user_id": setting(headers["x-rustok-user-id"]),
          "rustok.role": setting(headers["x-rustok-role"]),
        },
      };
    },
  },
  grafserv: {
    port: Number(process.env.PORT ?? 5678),
    graphqlPath: "/graphql",
    graphiql: false,
    watch: false,
  },
};

export default preset;
