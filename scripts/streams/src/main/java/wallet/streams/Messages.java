package wallet.streams;

import java.io.IOException;
import java.math.BigDecimal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The wallet's messages as the Go module's codecs write them (codecs/), its
 * money in cents and its account keys.
 */
final class Messages {
    private Messages() {}

    static final String WORLD = "@world";

    // Kinds of instructions, and of the outcome on the transfer log.
    static final String OPEN = "open", DEBIT = "debit", CREDIT = "credit", REFUND = "refund", OUTCOME = "outcome";
    // Statuses and reasons of a transfer.
    static final String PENDING = "pending", COMPLETED = "completed", REJECTED = "rejected";
    static final String INSUFFICIENT_FUNDS = "insufficient_funds", ACCOUNT_NOT_FOUND = "account_not_found";

    /** The largest overdraft limit (wallet.DefaultMaxOverdraft) and amount (wallet.DefaultMaxAmount), in cents. */
    static final long MAX_OVERDRAFT = 100_000, MAX_AMOUNT = 100_000_000_000L;

    /**
     * Message is any message of the wallet's logs, with the fields of its
     * kind set and the others null: a claim (request_id, username,
     * overdraft_limit), a transfer (request_id, from, to, amount), an
     * instruction (request_id, kind, account, and from, to, amount or
     * username, overdraft_limit) or an outcome (request_id, kind "outcome",
     * status, reason). Written in the field order of the Go codecs, so the
     * bytes on the logs are the wallet's.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"request_id", "kind", "account", "from", "to", "amount", "username", "overdraft_limit", "status", "reason"})
    record Message(
            @JsonProperty("request_id") String requestID,
            String kind,
            String account,
            String from,
            String to,
            String amount,
            String username,
            @JsonProperty("overdraft_limit") String overdraftLimit,
            String status,
            String reason) {

        static Message instruction(String requestID, String kind, String account, String from, String to, long cents) {
            return new Message(requestID, kind, account, from, to, money(cents), null, null, null, null);
        }

        static Message open(String requestID, String account, String username, long limit) {
            return new Message(requestID, OPEN, account, null, null, null, username, money(limit), null, null);
        }

        static Message outcome(String requestID, String status, String reason) {
            return new Message(requestID, OUTCOME, null, null, null, null, null, null, status, reason);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false); // a claim's key_hash

    static Message decode(byte[] value) throws Decider.Invalid {
        try {
            Message m = JSON.readValue(value, Message.class);
            if (m.requestID() == null) {
                throw new Decider.Invalid("no request_id");
            }
            return m;
        } catch (IOException e) {
            throw new Decider.Invalid("undecodable: " + e.getMessage());
        }
    }

    static byte[] encode(Message m) {
        try {
            return JSON.writeValueAsBytes(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("encode " + m, e); // a record of strings always encodes
        }
    }

    /** cents parses an amount with at most two places ("0.50"), as wallet.ParseMoney does. */
    static long cents(String amount) throws Decider.Invalid {
        if (amount == null) {
            throw new Decider.Invalid("no amount");
        }
        try {
            BigDecimal d = new BigDecimal(amount);
            if (d.scale() > 2) {
                throw new Decider.Invalid("amount " + amount + " has more than two places");
            }
            return d.movePointRight(2).longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new Decider.Invalid("amount " + amount + " is not a number of cents");
        }
    }

    /** money formats cents with two places, as the wallet writes money ("0.50", "-3.00"). */
    static String money(long cents) {
        return BigDecimal.valueOf(cents, 2).toPlainString();
    }

    /**
     * accountKey is wallet.AccountKey for names of printable ASCII: each
     * byte lowercased, then to its confusable skeleton (UTS #39), which for
     * ASCII changes only these ("0" is "o", "1" and "|" are "l", "m" is
     * "rn"). The wallet's asciiKeys table holds the same. Other names, which
     * need PRECIS and the whole of confusables.txt, are refused: this
     * harness only ever sees loadgen's names.
     */
    static String accountKey(String name) throws Decider.Invalid {
        if (name == null || name.isEmpty() || name.length() > 64) {
            throw new Decider.Invalid("account name must be 1 to 64 bytes long");
        }
        if (name.equals(WORLD)) {
            return WORLD;
        }
        StringBuilder key = new StringBuilder(name.length() + 4);
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c <= ' ' || c >= 127 || c == '@') {
                throw new Decider.Invalid("account name " + name + " is not printable ASCII without @, which is all this harness keys");
            }
            if (c >= 'A' && c <= 'Z') {
                c = (char) (c + ('a' - 'A'));
            }
            switch (c) {
                case '0' -> key.append('o');
                case '1', '|' -> key.append('l');
                case 'm' -> key.append("rn");
                case '"' -> key.append("''");
                case '`' -> key.append('\'');
                default -> key.append(c);
            }
        }
        if (key.length() > 64) {
            throw new Decider.Invalid("account key of " + name + " is longer than 64 bytes");
        }
        return key.toString();
    }
}
