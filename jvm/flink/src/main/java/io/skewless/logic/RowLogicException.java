package io.skewless.logic;

/**
 * A filter or derived column failed on one record. {@link #reason()} is, character for character,
 * the reason Python's {@code RowLogicError} gives for the same record: it goes to the dead-letter
 * topic.
 */
public final class RowLogicException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RowLogicException(String reason) {
        super(reason, null, false, false); // a per-record outcome: no stack trace to fill
    }

    public String reason() {
        return getMessage();
    }
}
