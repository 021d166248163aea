package dev.genset.store;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.TemporalAdjusters;
import java.util.Locale;

/** The window a budget or token quota applies to, in UTC. */
public enum BudgetPeriod {
    DAILY, WEEKLY, MONTHLY, TOTAL;

    /** The start (epoch ms) of the period that contains {@code epochMs}. */
    public long start(long epochMs) {
        if (this == TOTAL) return 0;
        LocalDate d = Instant.ofEpochMilli(epochMs).atZone(ZoneOffset.UTC).toLocalDate();
        LocalDate s = switch (this) {
            case DAILY -> d;
            case WEEKLY -> d.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
            case MONTHLY -> d.withDayOfMonth(1);
            case TOTAL -> throw new AssertionError();
        };
        return s.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
    }

    /** The end (exclusive, epoch ms) of the period that starts at {@code start}, or Long.MAX_VALUE. */
    public long end(long start) {
        if (this == TOTAL) return Long.MAX_VALUE;
        LocalDate s = Instant.ofEpochMilli(start).atZone(ZoneOffset.UTC).toLocalDate();
        LocalDate e = switch (this) {
            case DAILY -> s.plusDays(1);
            case WEEKLY -> s.plusWeeks(1);
            case MONTHLY -> s.plusMonths(1);
            case TOTAL -> throw new AssertionError();
        };
        return e.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static BudgetPeriod parse(String s) {
        if (s == null || s.isBlank()) return MONTHLY;
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "daily", "day" -> DAILY;
            case "weekly", "week" -> WEEKLY;
            case "monthly", "month" -> MONTHLY;
            case "total", "lifetime", "none" -> TOTAL;
            default -> throw new IllegalArgumentException("unknown period " + s + " (daily, weekly, monthly or total)");
        };
    }
}
