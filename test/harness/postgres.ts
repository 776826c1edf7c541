/** The PostgreSQL that scripts/postgres.sh runs (scripts/test.sh starts it); SHOP_TEST_POSTGRES points the tests elsewhere. */
export const testPostgres = process.env.SHOP_TEST_POSTGRES ?? `postgres://postgres@127.0.0.1:${process.env.PG_PORT ?? 15432}/shop`
