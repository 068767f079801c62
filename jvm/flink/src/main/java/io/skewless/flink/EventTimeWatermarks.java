package io.skewless.flink;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.types.Row;

/**
 * Bounded out-of-orderness over the decoded event time: the watermark is the newest event time
 * seen minus the bound, minus 1 ms. Records without a timestamp (Long.MIN_VALUE: dead letters to
 * be) are ignored. Periodic, or after every record for bounded replays.
 */
final class EventTimeWatermarks implements WatermarkGenerator<Row> {
    private final long outOfOrdernessMs;
    private final boolean perEvent;
    private long newest = Long.MIN_VALUE;
    private long emitted = Long.MIN_VALUE;

    EventTimeWatermarks(long outOfOrdernessMs, boolean perEvent) {
        this.outOfOrdernessMs = outOfOrdernessMs;
        this.perEvent = perEvent;
    }

    @Override
    public void onEvent(Row event, long eventTimestamp, WatermarkOutput output) {
        if (eventTimestamp == Long.MIN_VALUE) {
            return;
        }
        newest = Math.max(newest, eventTimestamp);
        if (perEvent) {
            emit(output);
        }
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        emit(output);
    }

    private void emit(WatermarkOutput output) {
        if (newest == Long.MIN_VALUE) {
            return;
        }
        long watermark = newest - outOfOrdernessMs - 1;
        if (watermark > emitted) {
            emitted = watermark;
            output.emitWatermark(new Watermark(watermark));
        }
    }
}
