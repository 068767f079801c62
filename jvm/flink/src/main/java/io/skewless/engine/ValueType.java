package io.skewless.engine;

/** Result types, as in skewless.spec.OPERATIONS. */
public enum ValueType {
    LONG("long"),
    DOUBLE("double"),
    LIST_DOUBLE("list<double>");

    public final String specName;

    ValueType(String specName) {
        this.specName = specName;
    }
}
