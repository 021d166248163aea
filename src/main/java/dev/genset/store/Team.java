package dev.genset.store;

/** A group of keys that shares limits and budgets. */
public record Team(String id, String name, Limits limits, boolean disabled, long createdAt) {}
