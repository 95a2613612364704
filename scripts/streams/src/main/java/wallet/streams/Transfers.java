package wallet.streams;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import org.apache.kafka.streams.processor.api.Record;

import wallet.streams.Messages.Message;

/**
 * paymentd (processors/transfer.go, DecideTransfer and RecordOutcome): the
 * first request of a request ID is stored pending and emits the sender's
 * debit; a re-post of it is answered from the state and emits nothing; a
 * request ID used again for another transfer is a conflict (dead-lettered).
 * The first outcome reported back makes the status final; later ones change
 * nothing.
 */
final class Transfers extends Decider {
    Transfers() {
        super("paymentd");
    }

    /**
     * State is a transfer as first requested, its status and reason, and the
     * offset after the last message of its log it reflects (a message below
     * it is a replay and changes nothing). Encoded as status and reason
     * bytes ('p', 'c', 'r'; 0, 'f', 'n'), next offset and amount (8 bytes
     * each, big-endian), from and to (DataOutput.writeUTF: a 2-byte length
     * and the bytes); internal/loadgen/streams.go reads it.
     */
    record State(String status, String reason, long nextOffset, long cents, String from, String to) {
        byte[] encode() {
            ByteArrayOutputStream b = new ByteArrayOutputStream(24 + from.length() + to.length());
            try (DataOutputStream out = new DataOutputStream(b)) {
                out.writeByte(status.charAt(0));
                out.writeByte(reason == null ? 0 : reason.equals(Messages.INSUFFICIENT_FUNDS) ? 'f' : 'n');
                out.writeLong(nextOffset);
                out.writeLong(cents);
                out.writeUTF(from);
                out.writeUTF(to);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return b.toByteArray();
        }

        static State decode(byte[] v) {
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(v))) {
                String status = switch (in.readByte()) {
                    case 'p' -> Messages.PENDING;
                    case 'c' -> Messages.COMPLETED;
                    default -> Messages.REJECTED;
                };
                String reason = switch (in.readByte()) {
                    case 'f' -> Messages.INSUFFICIENT_FUNDS;
                    case 'n' -> Messages.ACCOUNT_NOT_FOUND;
                    default -> null;
                };
                return new State(status, reason, in.readLong(), in.readLong(), in.readUTF(), in.readUTF());
            } catch (IOException e) {
                throw new UncheckedIOException("paymentd-table value", e);
            }
        }
    }

    @Override
    void decide(Record<String, byte[]> in, long offset) throws Invalid {
        Message m = Messages.decode(in.value());
        if (!m.requestID().equals(in.key())) {
            throw new Invalid("key " + in.key() + " is not the request ID " + m.requestID());
        }
        byte[] v = store.get(in.key());
        State stored = v == null ? null : State.decode(v);
        if (stored != null && offset < stored.nextOffset()) {
            return; // a replay: its state and outputs were committed with it
        }
        if (m.kind() == null) {
            request(in, offset, m, stored);
        } else if (m.kind().equals(Messages.OUTCOME)) {
            outcome(in, offset, m, stored);
        } else {
            throw new Invalid("kind " + m.kind() + " has no place on the transfer log");
        }
    }

    private void request(Record<String, byte[]> in, long offset, Message t, State stored) throws Invalid {
        long cents = Messages.cents(t.amount());
        if (cents < 1 || cents > Messages.MAX_AMOUNT) {
            throw new Invalid("amount " + t.amount() + " is not within 0.01 and the maximum");
        }
        String from = Messages.accountKey(t.from());
        if (from.equals(Messages.accountKey(t.to()))) {
            throw new Invalid("a transfer from " + t.from() + " to the same account");
        }
        if (stored == null) {
            store.put(in.key(), new State(Messages.PENDING, null, offset + 1, cents, t.from(), t.to()).encode());
            send(in, Main.INSTRUCTIONS, from,
                    Messages.encode(Message.instruction(t.requestID(), Messages.DEBIT, from, t.from(), t.to(), cents)));
            return;
        }
        if (!stored.from().equals(t.from()) || !stored.to().equals(t.to()) || stored.cents() != cents) {
            throw new Invalid("request ID " + t.requestID() + " was already used for a different transfer");
        }
        // A re-post of the same transfer: answered from the state.
    }

    private void outcome(Record<String, byte[]> in, long offset, Message o, State stored) throws Invalid {
        boolean completed = Messages.COMPLETED.equals(o.status()) && o.reason() == null;
        boolean rejected = Messages.REJECTED.equals(o.status())
                && (Messages.INSUFFICIENT_FUNDS.equals(o.reason()) || Messages.ACCOUNT_NOT_FOUND.equals(o.reason()));
        if (!completed && !rejected) {
            throw new Invalid("outcome " + o.status() + " " + o.reason() + " is not a final status and its reason");
        }
        if (stored == null) {
            throw new Invalid("outcome for request ID " + o.requestID() + ", which has no transfer");
        }
        if (stored.status().equals(Messages.PENDING)) {
            store.put(in.key(), new State(o.status(), o.reason(), offset + 1, stored.cents(), stored.from(), stored.to()).encode());
        }
    }
}
