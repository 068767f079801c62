package io.skewless.logic;

/** A Python exception (or one of our own refusals) inside an expression; its text ends the reason. */
final class PyError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PyError(String message) {
        super(message, null, false, false);
    }
}
