package io.skewless.engine;

/** The values of a view's features from {@code validFrom} on, as of revision {@code revision}. */
public final class Update {
    public final long validFrom;
    public final Object[] values;
    public final int revision;

    Update(long validFrom, Object[] values, int revision) {
        this.validFrom = validFrom;
        this.values = values;
        this.revision = revision;
    }
}
