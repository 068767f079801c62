package io.skewless.logic;

import java.util.Arrays;

/**
 * A run-time refusal inside an expression (docs/expressions.md, "Errors"): a code, the operator or
 * function that refused, and the types of its operands. RowLogic turns it into the reason.
 */
final class Failure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final String code;
    final String op;
    final String[] operandTypes;

    Failure(String code, String op, Object... operands) {
        super(code, null, false, false); // a per-record outcome: no stack trace to fill
        this.code = code;
        this.op = op;
        this.operandTypes = Arrays.stream(operands).map(Values::typeName).toArray(String[]::new);
    }

    /** null_operand when a null is among the operands, else type_mismatch. */
    static Failure refuse(String op, Object... operands) {
        boolean anyNull = Arrays.stream(operands).anyMatch(v -> v == null);
        return new Failure(anyNull ? "null_operand" : "type_mismatch", op, operands);
    }

    /** "string + double", "lower(long)", "if(null)"; a missing field is just its name. */
    String detail() {
        if (code.equals("missing_field")) {
            return op;
        }
        if (operandTypes.length == 2 && Operators.isInfix(op)) {
            return operandTypes[0] + " " + op + " " + operandTypes[1];
        }
        return op + "(" + String.join(", ", operandTypes) + ")";
    }
}
