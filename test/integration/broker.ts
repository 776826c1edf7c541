/** The broker that scripts/kafka.sh starts; SHOP_TEST_BROKERS points the integration tests elsewhere. */
export const testBrokers = (process.env.SHOP_TEST_BROKERS ?? '127.0.0.1:9092').split(',')
