/**
 * The compute planner: from a model and a workload to accelerators, servers, network, power and cost.
 *
 * <p>Each plan is a {@link dev.genset.plan.Working}: an ordered list of {@link dev.genset.plan.Figure}s,
 * each with its formula and the numbers put into it, plus the assumptions as notes; the CLI prints it
 * as a table, as JSON ({@code --json}) or with the working ({@code --explain}).
 *
 * <ul>
 *   <li>{@link dev.genset.plan.Catalogue}: accelerators, servers, switches and transceivers with dense
 *       (not sparsity) datasheet figures and a source per entry; user files merge over the bundled one.</li>
 *   <li>{@link dev.genset.plan.TrainPlan}: FLOPs = 6·P·T (8·P·T with activation recomputation),
 *       time = FLOPs / (GPUs · achieved FLOP/s), GPU-hours, energy at rated server power, PUE, cost.</li>
 *   <li>{@link dev.genset.plan.ServePlan}: weight and KV-cache bytes, tensor-parallel degree, the
 *       memory-bandwidth decode ceiling, prefill from FLOPs, and replicas by Little's law.</li>
 *   <li>{@link dev.genset.plan.ClusterPlan}: servers, racks, a non-blocking fat tree (leaf, spine,
 *       core), cables and transceivers by speed, IT and facility power, air or liquid cooling.</li>
 * </ul>
 */
package dev.genset.plan;
