package wallet.streams;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.state.Stores;

/**
 * The wallet's three processors (signup, paymentd, the accountant) as one
 * Kafka Streams application of the Processor API, each with a persistent
 * RocksDB key-value store: a benchmark harness to time against the wallet on
 * the same topics, the same messages and the same Apache Kafka (README.md).
 *
 * <pre>
 * run.sh -brokers 127.0.0.1:9093 -guarantee at_least_once|exactly_once_v2 \
 *        -state-dir DIR [-application-id wallet-streams]
 * </pre>
 *
 * It runs until SIGTERM, then closes cleanly, so that a restart on the same
 * state directory starts from its stores.
 */
public final class Main {
    static final String SIGNUP_REQUESTS = "wallet.signup_request";
    static final String TRANSFER_REQUESTS = "wallet.transfer_request";
    static final String INSTRUCTIONS = "wallet.payment";
    static final String DEAD_LETTERS = "wallet.dead_letter";

    public static void main(String[] args) throws InterruptedException {
        String brokers = "127.0.0.1:9093", guarantee = StreamsConfig.AT_LEAST_ONCE;
        String stateDir = null, applicationID = "wallet-streams";
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "-brokers" -> brokers = args[i + 1];
                case "-guarantee" -> guarantee = args[i + 1];
                case "-state-dir" -> stateDir = args[i + 1];
                case "-application-id" -> applicationID = args[i + 1];
                default -> usage("unknown flag " + args[i]);
            }
        }
        if (args.length % 2 != 0 || stateDir == null) {
            usage("-state-dir is required, and every flag takes a value");
        }
        if (!guarantee.equals(StreamsConfig.AT_LEAST_ONCE) && !guarantee.equals(StreamsConfig.EXACTLY_ONCE_V2)) {
            usage("-guarantee must be at_least_once or exactly_once_v2, not " + guarantee);
        }

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationID);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        // The wallet commits every 100 ms; Kafka Streams' default is 100 ms
        // under exactly once but 30 s at least once. Everything else is
        // Kafka Streams' default, but the static membership below.
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        // A static member: the harness stops the application after the
        // set-up and starts it again for the timed phase, and Kafka
        // Streams' close does not leave the group (its consumers keep
        // their membership for a restart). A dynamic member started again
        // would wait for the old one's session to time out (45 s) before
        // the group rebalances; a static one takes its place at once.
        props.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, applicationID);

        KafkaStreams streams = new KafkaStreams(topology(), props);
        CountDownLatch done = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            System.out.println("kafka streams: " + before + " -> " + now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
                done.countDown();
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // How often each stream thread committed, which under load is
            // less often than the commit interval (a commit comes only
            // between two rounds of processing).
            streams.metrics().forEach((name, metric) -> {
                if (name.group().equals("stream-thread-metrics") && name.name().equals("commit-total")) {
                    System.out.println("kafka streams: " + name.tags().get("thread-id") + " committed " + metric.metricValue() + " times");
                }
            });
            streams.close(Duration.ofSeconds(30));
            done.countDown();
        }));
        streams.start();
        done.await();
        // An error ends the process with a failure, so that the harness
        // stops waiting.
        if (streams.state() == KafkaStreams.State.ERROR) {
            System.exit(1);
        }
    }

    /**
     * topology is the wallet's graph (topology/topology.go): each processor
     * reads one input topic and owns one store; its sinks are named
     * "processor:topic" (Decider.send).
     */
    static Topology topology() {
        Topology t = new Topology();
        add(t, "signup", SIGNUP_REQUESTS, Signup::new, INSTRUCTIONS);
        add(t, "paymentd", TRANSFER_REQUESTS, Transfers::new, INSTRUCTIONS);
        add(t, "accountant", INSTRUCTIONS, Accountant::new, INSTRUCTIONS, TRANSFER_REQUESTS);
        return t;
    }

    private static void add(Topology t, String name, String input,
            ProcessorSupplier<String, byte[], String, byte[]> processor, String... outputs) {
        t.addSource(name + "-input", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), input);
        t.addProcessor(name, processor, name + "-input");
        // Persistent RocksDB, logged to a changelog topic (the default), with
        // the record cache that the DSL's stores have by default.
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(Decider.store(name)),
                Serdes.String(), Serdes.ByteArray()).withCachingEnabled(), name);
        for (String out : outputs) {
            t.addSink(name + ":" + out, out, Serdes.String().serializer(), Serdes.ByteArray().serializer(), name);
        }
        t.addSink(name + ":" + DEAD_LETTERS, DEAD_LETTERS, Serdes.String().serializer(), Serdes.ByteArray().serializer(), name);
    }

    private static void usage(String problem) {
        System.err.println("wallet-streams: " + problem);
        System.err.println("usage: run.sh -brokers HOST:PORT -guarantee at_least_once|exactly_once_v2 -state-dir DIR [-application-id ID]");
        System.exit(2);
    }
}
