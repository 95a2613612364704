package wallet.streams;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import org.apache.kafka.streams.processor.api.Record;

import wallet.streams.Messages.Message;

/**
 * The signup group (processors/signup.go, DecideClaim): the first claim of
 * an account key wins, is stored with its offset and opens the account; a
 * later claim with another request ID loses, one with the winner's request
 * ID wins again; neither changes anything or emits anything.
 */
final class Signup extends Decider {
    Signup() {
        super("signup");
    }

    /** Won is the claim that won an account key, and its offset, as the wallet keeps them. */
    record Won(String requestID, String username, long limit, long offset) {
        byte[] encode() {
            ByteArrayOutputStream b = new ByteArrayOutputStream(64);
            try (DataOutputStream out = new DataOutputStream(b)) {
                out.writeUTF(requestID);
                out.writeUTF(username);
                out.writeLong(limit);
                out.writeLong(offset);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return b.toByteArray();
        }
    }

    @Override
    void decide(Record<String, byte[]> in, long offset) throws Invalid {
        Message c = Messages.decode(in.value());
        if (c.kind() != null) {
            throw new Invalid("a key change, which this harness does not decide");
        }
        long limit = c.overdraftLimit() == null ? 0 : Messages.cents(c.overdraftLimit());
        if (limit < 0 || limit > Messages.MAX_OVERDRAFT) {
            throw new Invalid("overdraft limit " + c.overdraftLimit() + " is not within 0.00 and 1000.00");
        }
        String key = Messages.accountKey(c.username());
        if (!key.equals(in.key()) || key.equals(Messages.WORLD)) {
            throw new Invalid("key " + in.key() + " is not the account key " + key + " of " + c.username());
        }
        byte[] stored = store.get(key);
        if (stored != null) {
            // A claim the state reflects (a replay), another claim of a
            // taken name, or the winner's again: nothing changes, nothing
            // is emitted.
            return;
        }
        store.put(key, new Won(c.requestID(), c.username(), limit, offset).encode());
        send(in, Main.INSTRUCTIONS, key, Messages.encode(Message.open(c.requestID(), key, c.username(), limit)));
    }
}
