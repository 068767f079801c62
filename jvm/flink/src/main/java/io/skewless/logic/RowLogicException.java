package io.skewless.logic;

/**
 * A filter or derived column failed on one record. {@link #reason()} is what goes to the
 * dead-letter topic, {@code <what> "<source>": row_logic.<code>: <detail>}, the same text as
 * Python's {@code RowLogicError} for the same record; {@link #code()} is the error code alone.
 */
public final class RowLogicException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String code;

    public RowLogicException(String code, String reason) {
        super(reason, null, false, false); // a per-record outcome: no stack trace to fill
        this.code = code;
    }

    public String reason() {
        return getMessage();
    }

    public String code() {
        return code;
    }
}
