package wallet.streams;

import java.nio.ByteBuffer;

import org.apache.kafka.streams.processor.api.Record;

import wallet.streams.Messages.Message;

/**
 * The accountant (processors/accountant.go, Apply): every instruction for an
 * account, in its partition's order.
 * <ul>
 * <li>An open opens the account with its overdraft limit, once.
 * <li>A debit is accepted only if the account is open (@world always is) and
 * the balance after it stays at or above minus the limit (@world has none);
 * then the credit goes to the recipient's partition. Otherwise the transfer
 * is rejected: insufficient_funds, or account_not_found.
 * <li>A credit to an open account is applied and the transfer completed; to
 * an account that is not open it becomes a refund to the sender.
 * <li>A refund is applied and the transfer rejected (account_not_found).
 * </ul>
 * Outcomes go back to the transfer's log, keyed by request ID.
 */
final class Accountant extends Decider {
    Accountant() {
        super("accountant");
    }

    /**
     * Account is an account's state: open, overdraft limit and balance in
     * cents, and the offset after the last instruction it reflects (one
     * below it is a replay and changes nothing). Encoded in 25 bytes: open
     * (0 or 1), then the three as 8 bytes big-endian;
     * internal/loadgen/streams.go reads it.
     */
    record Account(boolean open, long limit, long balance, long nextOffset) {
        static final Account NONE = new Account(false, 0, 0, 0);

        byte[] encode() {
            return ByteBuffer.allocate(25).put((byte) (open ? 1 : 0)).putLong(limit).putLong(balance).putLong(nextOffset).array();
        }

        static Account decode(byte[] v) {
            ByteBuffer b = ByteBuffer.wrap(v);
            return new Account(b.get() == 1, b.getLong(), b.getLong(), b.getLong());
        }
    }

    @Override
    void decide(Record<String, byte[]> in, long offset) throws Invalid {
        Message m = Messages.decode(in.value());
        String key = in.key();
        if (!key.equals(m.account())) {
            throw new Invalid("key " + key + " is not the account " + m.account());
        }
        byte[] v = store.get(key);
        Account a = v == null ? Account.NONE : Account.decode(v);
        if (offset < a.nextOffset()) {
            return; // a replay: its state and outputs were committed with it
        }
        boolean open = a.open() || key.equals(Messages.WORLD);
        long limit = a.limit(), balance = a.balance();
        if (Messages.OPEN.equals(m.kind())) {
            long l = Messages.cents(m.overdraftLimit());
            if (l < 0 || l > Messages.MAX_OVERDRAFT) {
                throw new Invalid("overdraft limit " + m.overdraftLimit() + " is not within 0.00 and 1000.00");
            }
            Account opened = open ? new Account(a.open(), limit, balance, offset + 1) : new Account(true, l, balance, offset + 1);
            store.put(key, opened.encode());
            return;
        }
        long cents = Messages.cents(m.amount());
        if (cents < 1 || cents > Messages.MAX_AMOUNT) {
            throw new Invalid("amount " + m.amount() + " is not within 0.01 and the maximum");
        }
        switch (m.kind() == null ? "" : m.kind()) {
            case Messages.DEBIT -> {
                if (!open) {
                    outcome(in, m, Messages.REJECTED, Messages.ACCOUNT_NOT_FOUND);
                } else if (!affords(key, balance, limit, cents)) {
                    outcome(in, m, Messages.REJECTED, Messages.INSUFFICIENT_FUNDS);
                } else {
                    String to = Messages.accountKey(m.to());
                    balance -= cents;
                    next(in, m, Messages.CREDIT, to, cents);
                }
            }
            case Messages.CREDIT -> {
                // A credit beyond a long's range is refunded, like one to
                // an account not open, as the wallet's saturating Money is.
                if (open && balance <= Long.MAX_VALUE - cents) {
                    balance += cents;
                    outcome(in, m, Messages.COMPLETED, null);
                } else {
                    next(in, m, Messages.REFUND, Messages.accountKey(m.from()), cents);
                }
            }
            case Messages.REFUND -> {
                balance += cents;
                outcome(in, m, Messages.REJECTED, Messages.ACCOUNT_NOT_FOUND);
            }
            default -> throw new Invalid("instruction kind " + m.kind() + " is not open, debit, credit or refund");
        }
        store.put(key, new Account(a.open(), limit, balance, offset + 1).encode());
    }

    /** affords reports whether account key can be debited cents: @world always can, within a long's range. */
    private static boolean affords(String key, long balance, long limit, long cents) {
        if (balance < Long.MIN_VALUE + cents) {
            return false;
        }
        return key.equals(Messages.WORLD) || balance - cents >= -limit;
    }

    /** next sends the instruction that follows m, of kind, to account's partition of wallet.payment. */
    private void next(Record<String, byte[]> in, Message m, String kind, String account, long cents) {
        send(in, Main.INSTRUCTIONS, account,
                Messages.encode(Message.instruction(m.requestID(), kind, account, m.from(), m.to(), cents)));
    }

    private void outcome(Record<String, byte[]> in, Message m, String status, String reason) {
        send(in, Main.TRANSFER_REQUESTS, m.requestID(), Messages.encode(Message.outcome(m.requestID(), status, reason)));
    }
}
