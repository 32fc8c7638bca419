import Testing

/// The multi-partition load tests (fraud_score property test, registration race, transfer
/// torture test) run one at a time: each drives a real server hard, and running them
/// together would starve the other suites' timing-sensitive tests of the machine's cores.
@Suite(.serialized) struct MultiPartitionLoadTests {}
