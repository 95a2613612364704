package wallet.streams;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * What the three processors share: their store, the offset of the message
 * being decided, and the outputs: a message to another topic, or the input
 * to the dead letters with the reason, as the wallet's processors do
 * (processors/processors.go, deadLetterInput).
 */
abstract class Decider implements Processor<String, byte[], String, byte[]> {
    private final String name;
    private ProcessorContext<String, byte[]> context;
    protected KeyValueStore<String, byte[]> store;

    Decider(String name) {
        this.name = name;
    }

    /** store is the name of the store of processor name, as the wallet names its tables. */
    static String store(String name) {
        return name + "-table";
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        this.context = context;
        this.store = context.getStateStore(store(name));
    }

    @Override
    public void process(Record<String, byte[]> in) {
        try {
            decide(in, offset());
        } catch (Invalid e) {
            deadLetter(in, e.getMessage());
        }
    }

    /**
     * decide decides message in, at offset in its partition. An input that
     * cannot be decided (undecodable, invalid, a key that is not its
     * account or request ID) throws Invalid and goes to the dead letters.
     */
    abstract void decide(Record<String, byte[]> in, long offset) throws Invalid;

    /** offset is the offset of the message being processed in its partition. */
    private long offset() {
        return context.recordMetadata().map(RecordMetadata::offset).orElseThrow();
    }

    /** send writes value under key to topic, through this processor's sink for it. */
    void send(Record<String, byte[]> in, String topic, String key, byte[] value) {
        context.forward(new Record<>(key, value, in.timestamp()), name + ":" + topic);
    }

    private void deadLetter(Record<String, byte[]> in, String error) {
        RecordMetadata m = context.recordMetadata().orElseThrow();
        Record<String, byte[]> out = new Record<>(in.key(), in.value(), in.timestamp());
        out.headers().add("wallet-error", error.getBytes(StandardCharsets.UTF_8));
        out.headers().add("wallet-origin-topic", m.topic().getBytes(StandardCharsets.UTF_8));
        out.headers().add("wallet-origin-partition", Integer.toString(m.partition()).getBytes(StandardCharsets.UTF_8));
        out.headers().add("wallet-origin-offset", Long.toString(m.offset()).getBytes(StandardCharsets.UTF_8));
        context.forward(out, name + ":" + Main.DEAD_LETTERS);
    }

    /** Invalid is an input that no decision applies to: it goes to the dead letters. */
    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message, null, false, false);
        }
    }
}
