// Each test runs a farm with the real engine and a browser: on two cores they run one at a time, not against each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
