package io.skewless.engine;

/** Result types: the value_type names of the operation catalogue (skewless.operations). */
public enum ValueType {
    LONG("long"),
    DOUBLE("double"),
    LIST_DOUBLE("list<double>");

    public final String specName;

    ValueType(String specName) {
        this.specName = specName;
    }
}
