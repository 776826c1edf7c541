package shop.anchor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * shop's stream core (the order and inventory roles) written with Kafka Streams, as a Java team
 * would: the anchor `bun bench stream` measures shop against, on the same broker and the same
 * pre-filled orders.
 *
 * The same topology as shop's: orders.created (keyed by user) and the line results (keyed by user,
 * co-partitioned) meet in the order processor, which keeps each order's saga in a store, writes a
 * reservation request per line keyed by SKU, and once every line is answered writes the outcome
 * (reserved or failed), the order's status, a payment request for a reserved order, and releases
 * for the reserved lines of a failed one. The inventory processor owns the stock of the SKUs of its
 * partition: a set replaces the level, a reserve takes units when enough are there (answered once
 * per line, as a reservation store remembers), a release gives them back. Processing guarantee
 * exactly_once_v2, RocksDB stores with changelogs (the defaults).
 *
 * Usage: OrderStream BROKERS ORDERS_TOPIC NAMESPACE THREADS STATE_DIR. Reads ORDERS_TOPIC (records as
 * shop's api writes them: key userId, JSON value); its own topics (created by the bench, as many
 * partitions as ORDERS_TOPIC) are NAMESPACE + inventory.requests, inventory.line-results,
 * inventory.reserved, inventory.failed, order.status and payment.requests; its application id is
 * NAMESPACE + "app". Runs until SIGTERM.
 */
public final class OrderStream {
  static final ObjectMapper json = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: OrderStream BROKERS ORDERS_TOPIC NAMESPACE THREADS STATE_DIR");
      System.exit(2);
    }
    String orders = args[1];
    String anchor = args[2];
    String requests = anchor + "inventory.requests";
    String results = anchor + "inventory.line-results";

    Topology topology = new Topology();
    topology.addSource("orders", Serdes.String().deserializer(), Serdes.String().deserializer(), orders, results);
    topology.addProcessor("order", OrderProcessor::new, "orders");
    topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("sagas"), Serdes.String(), Serdes.String()), "order");
    topology.addSource("requests", Serdes.String().deserializer(), Serdes.String().deserializer(), requests);
    topology.addProcessor("inventory", InventoryProcessor::new, "requests");
    topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("stock"), Serdes.String(), Serdes.String()), "inventory");
    topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("reservations"), Serdes.String(), Serdes.String()), "inventory");
    for (String[] sink : new String[][] {
      {"to-requests", requests, "order"},
      {"to-reserved", anchor + "inventory.reserved", "order"},
      {"to-failed", anchor + "inventory.failed", "order"},
      {"to-status", anchor + "order.status", "order"},
      {"to-payment", anchor + "payment.requests", "order"},
      {"to-results", results, "inventory"},
    }) {
      topology.addSink(sink[0], sink[1], Serdes.String().serializer(), Serdes.String().serializer(), sink[2]);
    }

    Properties config = new Properties();
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, anchor + "app");
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args[3]));
    config.put(StreamsConfig.STATE_DIR_CONFIG, Files.createDirectories(java.nio.file.Path.of(args[4])).toString());
    config.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    KafkaStreams streams = new KafkaStreams(topology, config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close();
      stopped.countDown();
    }));
    streams.setUncaughtExceptionHandler(error -> {
      error.printStackTrace();
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_APPLICATION;
    });
    streams.start();
    System.out.println("anchor: started");
    stopped.await();
  }

  static ObjectNode parse(String value) {
    try {
      return (ObjectNode) json.readTree(value);
    } catch (Exception e) {
      throw new IllegalArgumentException("not JSON: " + value, e);
    }
  }

  static String text(JsonNode node) {
    try {
      return json.writeValueAsString(node);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The order's saga, by orderId: its order, each line's answer (null until answered), and whether it is decided. */
  static final class OrderProcessor implements Processor<String, String, String, String> {
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, String> sagas;

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      this.sagas = context.getStateStore("sagas");
    }

    @Override
    public void process(Record<String, String> record) {
      String topic = context.recordMetadata().orElseThrow().topic();
      if (topic.endsWith("inventory.line-results")) join(parse(record.value()));
      else start(parse(record.value()));
    }

    private void start(ObjectNode order) {
      String orderId = order.get("orderId").asText();
      if (sagas.get(orderId) != null) return;
      ArrayNode items = (ArrayNode) order.get("items");
      ObjectNode saga = json.createObjectNode();
      saga.set("order", order);
      ArrayNode lines = saga.putArray("lines");
      for (int i = 0; i < items.size(); i++) lines.addNull();
      saga.put("status", "pending");
      sagas.put(orderId, text(saga));
      status(order, "pending");
      String userId = order.get("userId").asText();
      for (int line = 0; line < items.size(); line++) {
        JsonNode item = items.get(line);
        ObjectNode request = json.createObjectNode();
        request.put("type", "reserve").put("orderId", orderId).put("userId", userId).put("line", line);
        request.put("sku", item.get("sku").asText()).put("quantity", item.get("quantity").asInt());
        context.forward(new Record<>(item.get("sku").asText(), text(request), context.currentSystemTimeMs()), "to-requests");
      }
    }

    private void join(ObjectNode result) {
      String orderId = result.get("orderId").asText();
      String stored = sagas.get(orderId);
      if (stored == null) return;
      ObjectNode saga = parse(stored);
      ArrayNode lines = (ArrayNode) saga.get("lines");
      int line = result.get("line").asInt();
      if (!saga.get("status").asText().equals("pending") || !lines.get(line).isNull()) return;
      ObjectNode answer = json.createObjectNode();
      answer.put("status", result.get("status").asText()).put("available", result.get("available").asInt());
      lines.set(line, answer);
      for (JsonNode l : lines) {
        if (l.isNull()) {
          sagas.put(orderId, text(saga));
          return;
        }
      }
      ObjectNode order = (ObjectNode) saga.get("order");
      String userId = order.get("userId").asText();
      ArrayNode items = (ArrayNode) order.get("items");
      boolean reserved = true;
      for (JsonNode l : lines) reserved &= l.get("status").asText().equals("reserved");
      ObjectNode outcome = json.createObjectNode();
      outcome.put("orderId", orderId).put("userId", userId).set("lines", items);
      outcome.set("total", order.get("total"));
      if (reserved) {
        saga.put("status", "reserved");
        context.forward(new Record<>(userId, text(outcome), context.currentSystemTimeMs()), "to-reserved");
        ObjectNode charge = json.createObjectNode();
        charge.put("type", "charge").put("orderId", orderId).put("userId", userId).set("amount", order.get("total"));
        context.forward(new Record<>(userId, text(charge), context.currentSystemTimeMs()), "to-payment");
      } else {
        saga.put("status", "out_of_stock");
        ArrayNode shortLines = outcome.putArray("shortLines");
        for (int i = 0; i < items.size(); i++) {
          JsonNode l = lines.get(i);
          if (l.get("status").asText().equals("short")) {
            shortLines.addObject().put("sku", items.get(i).get("sku").asText()).put("requested", items.get(i).get("quantity").asInt()).put("available", l.get("available").asInt());
          } else {
            ObjectNode release = json.createObjectNode();
            release.put("type", "release").put("orderId", orderId).put("line", i).put("sku", items.get(i).get("sku").asText());
            context.forward(new Record<>(items.get(i).get("sku").asText(), text(release), context.currentSystemTimeMs()), "to-requests");
          }
        }
        context.forward(new Record<>(userId, text(outcome), context.currentSystemTimeMs()), "to-failed");
      }
      sagas.put(orderId, text(saga));
      status(order, saga.get("status").asText());
    }

    private void status(ObjectNode order, String status) {
      ObjectNode change = json.createObjectNode();
      change.put("orderId", order.get("orderId").asText()).put("userId", order.get("userId").asText()).put("status", status);
      change.put("at", Instant.now().toString()).set("placedAt", order.get("createdAt"));
      context.forward(new Record<>(order.get("userId").asText(), text(change), context.currentSystemTimeMs()), "to-status");
    }
  }

  /** The stock of the SKUs of one partition, and each line's reservation (answered once). */
  static final class InventoryProcessor implements Processor<String, String, String, String> {
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, String> stock;
    private KeyValueStore<String, String> reservations;

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      this.stock = context.getStateStore("stock");
      this.reservations = context.getStateStore("reservations");
    }

    private ObjectNode stockOf(String sku) {
      String stored = stock.get(sku);
      if (stored != null) return parse(stored);
      ObjectNode level = json.createObjectNode();
      return level.put("sku", sku).put("available", 0).put("reserved", 0);
    }

    @Override
    public void process(Record<String, String> record) {
      ObjectNode request = parse(record.value());
      String sku = request.get("sku").asText();
      switch (request.get("type").asText()) {
        case "set" -> stock.put(sku, text(stockOf(sku).put("available", request.get("quantity").asInt())));
        case "reserve" -> reserve(request, sku);
        case "release" -> {
          String key = request.get("orderId").asText() + "/" + request.get("line").asInt();
          String held = reservations.get(key);
          if (held == null) return;
          ObjectNode reservation = parse(held);
          if (!reservation.get("status").asText().equals("reserved")) return;
          ObjectNode level = stockOf(sku);
          int quantity = reservation.get("quantity").asInt();
          level.put("available", level.get("available").asInt() + quantity).put("reserved", level.get("reserved").asInt() - quantity);
          stock.put(sku, text(level));
          reservations.put(key, text(reservation.put("status", "released").put("available", level.get("available").asInt())));
        }
        default -> throw new IllegalArgumentException("unknown request " + record.value());
      }
    }

    private void reserve(ObjectNode request, String sku) {
      String key = request.get("orderId").asText() + "/" + request.get("line").asInt();
      int quantity = request.get("quantity").asInt();
      String held = reservations.get(key);
      ObjectNode decided;
      if (held != null) {
        decided = parse(held);
      } else {
        ObjectNode level = stockOf(sku);
        int available = level.get("available").asInt();
        decided = json.createObjectNode().put("sku", sku).put("quantity", quantity);
        if (available >= quantity) {
          level.put("available", available - quantity).put("reserved", level.get("reserved").asInt() + quantity);
          stock.put(sku, text(level));
          decided.put("status", "reserved").put("available", available - quantity);
        } else {
          decided.put("status", "short").put("available", available);
        }
        reservations.put(key, text(decided));
      }
      ObjectNode result = json.createObjectNode();
      result.put("orderId", request.get("orderId").asText()).put("userId", request.get("userId").asText()).put("line", request.get("line").asInt());
      result.put("sku", sku).put("quantity", quantity);
      result.put("status", decided.get("status").asText().equals("short") ? "short" : "reserved").put("available", decided.get("available").asInt());
      context.forward(new Record<>(request.get("userId").asText(), text(result), context.currentSystemTimeMs()));
    }
  }
}
