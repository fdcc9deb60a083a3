package dev.zdm.migration;

import java.time.LocalTime;
import java.time.format.DateTimeParseException;

/**
 * A time of day range the backfill may run in, such as {@code 22:00-06:00}; it may wrap
 * past midnight.
 *
 * @param start the first time of day in the window
 * @param end the first time of day after the window
 */
public record TimeWindow(LocalTime start, LocalTime end) {

	/**
	 * Parse a window written {@code HH:mm-HH:mm}.
	 * @param value the window
	 * @return the window
	 * @throws IllegalArgumentException if the value is not a window
	 */
	public static TimeWindow parse(String value) {
		int dash = value.indexOf('-');
		if (dash < 0) {
			throw new IllegalArgumentException("'" + value + "' is not a time window such as 22:00-06:00");
		}
		try {
			return new TimeWindow(LocalTime.parse(value.substring(0, dash).trim()),
					LocalTime.parse(value.substring(dash + 1).trim()));
		}
		catch (DateTimeParseException ex) {
			throw new IllegalArgumentException("'" + value + "' is not a time window such as 22:00-06:00", ex);
		}
	}

	/**
	 * Whether a time of day falls in this window.
	 * @param time the time of day
	 * @return {@code true} if inside
	 */
	public boolean contains(LocalTime time) {
		if (this.start.isBefore(this.end)) {
			return !time.isBefore(this.start) && time.isBefore(this.end);
		}
		return !time.isBefore(this.start) || time.isBefore(this.end);
	}

	@Override
	public String toString() {
		return this.start + "-" + this.end;
	}

}
