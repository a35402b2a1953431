using Streamiz.Kafka.Net.Stream;

namespace KafkaClient.Streams;

/// <summary>What an internal topic of a topology is for.</summary>
public enum InternalTopicKind
{
    /// <summary>A state store's changelog, <c>&lt;application.id&gt;-&lt;store&gt;-changelog</c>: as many partitions as its sub-topology's first source topic.</summary>
    Changelog,

    /// <summary>A repartition topic, <c>&lt;application.id&gt;-&lt;name&gt;-repartition</c>: as many partitions as the most partitioned source topic upstream of it.</summary>
    Repartition,
}

/// <summary>An internal topic a topology needs before it can start: its name, what it is for and how many partitions Streamiz expects it to have.</summary>
/// <param name="Name">The topic's name, prefixed by the application id.</param>
/// <param name="Kind">A changelog or a repartition topic.</param>
/// <param name="Partitions">The partitions Streamiz checks the topic has.</param>
/// <param name="StoreName">The state store, for a changelog; null for a repartition topic.</param>
public sealed record InternalTopic(string Name, InternalTopicKind Kind, int Partitions, string? StoreName);

/// <summary>A topology's internal topics (state-store changelogs and repartition topics), read from the built topology's description, and created where the cluster cannot do it when asked.</summary>
/// <remarks>
/// <para>
/// When a <c>KafkaStream</c> starts, Streamiz creates the internal topics its topology needs with the admin API's
/// CreateTopics, and gives up (state ERROR) on a cluster without it, such as <c>EmbeddedKafkaCluster</c> (librdkafka's
/// mock; the dev stack answers CreateTopics in front of it). Topics that exist already with the partitions it expects are left as they are. So
/// <see cref="CreateAsync"/>, called after the source topics exist and before the stream starts, lets any topology
/// start on such a cluster without the user naming its internal topics.
/// </para>
/// <para>
/// The names follow Streamiz's rules from what <see cref="Topology.Describe"/> shows: every store of a sub-topology has a
/// changelog <c>&lt;application.id&gt;-&lt;store&gt;-changelog</c> with as many partitions as the sub-topology's first
/// source topic in the description's order, the count Streamiz checks (a sub-topology whose sources differ in
/// partitions, such as a merge of a narrow topic into a wide one or a join after a key change with a narrower table,
/// starts, but Streamiz neither co-partitions it nor gives its extra tasks a changelog partition: give such sources the
/// same number of partitions);
/// every topic named <c>...-repartition</c> that one sub-topology writes and another reads is the repartition topic
/// <c>&lt;application.id&gt;-&lt;name&gt;</c>, with as many partitions as the most partitioned source topic upstream of it.
/// The description does not show two things, which therefore cannot be followed: a store with logging disabled (its
/// changelog is created all the same, and stays unused) and a partition count set with <c>Repartitioned</c> (pass it with
/// <c>repartitionPartitions</c>). Global stores read their source topic and have no internal topic.
/// </para>
/// </remarks>
public static class InternalTopics
{
    private const string RepartitionSuffix = "-repartition";

    /// <summary>Lists the internal topics of a topology.</summary>
    /// <param name="topology">The built topology (<c>StreamBuilder.Build()</c>).</param>
    /// <param name="applicationId">The application id (<c>application.id</c>), which prefixes every internal topic.</param>
    /// <param name="sourcePartitions">The number of partitions of each source topic the topology reads.</param>
    /// <param name="repartitionPartitions">Partition counts set with <c>Repartitioned</c>, by the repartition topic's name as the description shows it (without the application id); null when none was set.</param>
    /// <returns>The internal topics, changelogs first, each by name.</returns>
    /// <exception cref="ArgumentException">A source topic of the topology is missing from <paramref name="sourcePartitions"/>.</exception>
    public static IReadOnlyList<InternalTopic> Of(
        Topology topology,
        string applicationId,
        IReadOnlyDictionary<string, int> sourcePartitions,
        IReadOnlyDictionary<string, int>? repartitionPartitions = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentException.ThrowIfNullOrWhiteSpace(applicationId);
        ArgumentNullException.ThrowIfNull(sourcePartitions);
        var shape = Shape.Read(topology);
        var missing = shape.SourceTopics.Where(t => !sourcePartitions.ContainsKey(t)).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"The partition count of source topic(s) {string.Join(", ", missing.Select(t => $"\"{t}\""))} is missing.", nameof(sourcePartitions));
        }

        return shape.Topics(applicationId, sourcePartitions, repartitionPartitions ?? new Dictionary<string, int>());
    }

    /// <summary>Creates the internal topics of a topology that do not exist yet, so that a <c>KafkaStream</c> running it starts on a cluster without CreateTopics.</summary>
    /// <param name="topology">The built topology (<c>StreamBuilder.Build()</c>).</param>
    /// <param name="applicationId">The application id (<c>application.id</c>), which prefixes every internal topic.</param>
    /// <param name="admin">The cluster: an <c>EmbeddedKafkaCluster</c>, or any <see cref="ITopicAdmin"/>. The topics are created without topic configs (a changelog is not compacted, as Streamiz would make it): on a cluster with CreateTopics, let Streamiz create them.</param>
    /// <param name="repartitionPartitions">Partition counts set with <c>Repartitioned</c>, by the repartition topic's name as the description shows it; null when none was set.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>Every internal topic of the topology, those that existed already included.</returns>
    /// <exception cref="InvalidOperationException">A source topic does not exist (create it first), or an internal topic exists with another number of partitions than Streamiz expects (Streamiz would refuse to start).</exception>
    public static async Task<IReadOnlyList<InternalTopic>> CreateAsync(
        Topology topology,
        string applicationId,
        ITopicAdmin admin,
        IReadOnlyDictionary<string, int>? repartitionPartitions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentException.ThrowIfNullOrWhiteSpace(applicationId);
        ArgumentNullException.ThrowIfNull(admin);
        var shape = Shape.Read(topology);
        var existing = (await admin.ListTopicsAsync(cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        var missingSources = shape.SourceTopics.Where(t => !existing.Contains(t)).ToList();
        if (missingSources.Count > 0)
        {
            throw new InvalidOperationException($"Source topic(s) {string.Join(", ", missingSources.Select(t => $"\"{t}\""))} of the topology do not exist: create them before its internal topics.");
        }

        var sourcePartitions = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var source in shape.SourceTopics)
        {
            sourcePartitions[source] = (await admin.DescribeTopicAsync(source, cancellationToken).ConfigureAwait(false)).Partitions.Count;
        }

        var topics = shape.Topics(applicationId, sourcePartitions, repartitionPartitions ?? new Dictionary<string, int>());
        foreach (var topic in topics)
        {
            if (existing.Contains(topic.Name))
            {
                var partitions = (await admin.DescribeTopicAsync(topic.Name, cancellationToken).ConfigureAwait(false)).Partitions.Count;
                if (partitions != topic.Partitions)
                {
                    throw new InvalidOperationException($"Internal topic \"{topic.Name}\" exists with {partitions} partition(s); the topology needs {topic.Partitions}. Delete it (or reset the application) and create it again.");
                }

                continue;
            }

            await admin.CreateTopicAsync(topic.Name, topic.Partitions, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return topics;
    }

    /// <summary>What the description of a topology says about its topics and stores.</summary>
    private sealed class Shape
    {
        private readonly List<SubTopology> _subTopologies;
        private readonly HashSet<string> _repartitionTopics;

        private Shape(List<SubTopology> subTopologies)
        {
            _subTopologies = subTopologies;
            var written = subTopologies.SelectMany(s => s.Sinks).ToHashSet(StringComparer.Ordinal);
            _repartitionTopics = subTopologies
                .SelectMany(s => s.Sources)
                .Where(t => t.EndsWith(RepartitionSuffix, StringComparison.Ordinal) && written.Contains(t))
                .ToHashSet(StringComparer.Ordinal);
            SourceTopics = subTopologies.SelectMany(s => s.Sources).Where(t => !_repartitionTopics.Contains(t)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        }

        /// <summary>Gets the topics the topology reads that are not its own repartition topics.</summary>
        public IReadOnlyList<string> SourceTopics { get; }

        public static Shape Read(Topology topology)
        {
            var subTopologies = new List<SubTopology>();
            foreach (var sub in topology.Describe().SubTopologies.OrderBy(s => s.Id))
            {
                var nodes = sub.Nodes.ToList();
                subTopologies.Add(new SubTopology(
                    sub.Id,
                    nodes.OfType<ISourceNodeDescription>().SelectMany(n => n.Topics).Distinct(StringComparer.Ordinal).ToList(),
                    nodes.OfType<ISinkNodeDescription>().Select(n => n.Topic).Where(t => t is not null).Distinct(StringComparer.Ordinal).ToList(),
                    nodes.OfType<IProcessorNodeDescription>().SelectMany(n => n.Stores).Distinct(StringComparer.Ordinal).ToList()));
            }

            return new Shape(subTopologies);
        }

        public List<InternalTopic> Topics(string applicationId, IReadOnlyDictionary<string, int> sourcePartitions, IReadOnlyDictionary<string, int> repartitionPartitions)
        {
            var repartitionCounts = new Dictionary<string, int>(StringComparer.Ordinal);
            var changelogs = new List<InternalTopic>();
            foreach (var sub in _subTopologies)
            {
                // Streamiz sizes a sub-topology's changelogs as its first source topic, not its widest.
                var partitions = sub.Sources.Count == 0 ? 1 : PartitionsOfTopic(sub.Sources[0], sourcePartitions, repartitionPartitions, repartitionCounts, []);
                changelogs.AddRange(sub.Stores.Select(store => new InternalTopic($"{applicationId}-{store}-changelog", InternalTopicKind.Changelog, partitions, store)));
            }

            var repartitions = _repartitionTopics
                .Select(t => new InternalTopic($"{applicationId}-{t}", InternalTopicKind.Repartition, RepartitionPartitions(t, sourcePartitions, repartitionPartitions, repartitionCounts, []), null));
            return [.. changelogs.DistinctBy(t => t.Name).OrderBy(t => t.Name, StringComparer.Ordinal), .. repartitions.OrderBy(t => t.Name, StringComparer.Ordinal)];
        }

        private int PartitionsOf(SubTopology sub, IReadOnlyDictionary<string, int> sources, IReadOnlyDictionary<string, int> fixedCounts, Dictionary<string, int> counts, HashSet<string> visiting) =>
            sub.Sources
                .Select(t => PartitionsOfTopic(t, sources, fixedCounts, counts, visiting))
                .DefaultIfEmpty(1)
                .Max();

        private int PartitionsOfTopic(string topic, IReadOnlyDictionary<string, int> sources, IReadOnlyDictionary<string, int> fixedCounts, Dictionary<string, int> counts, HashSet<string> visiting) =>
            _repartitionTopics.Contains(topic) ? RepartitionPartitions(topic, sources, fixedCounts, counts, visiting) : sources[topic];

        private int RepartitionPartitions(string topic, IReadOnlyDictionary<string, int> sources, IReadOnlyDictionary<string, int> fixedCounts, Dictionary<string, int> counts, HashSet<string> visiting)
        {
            if (fixedCounts.TryGetValue(topic, out var given) || counts.TryGetValue(topic, out given))
            {
                return given;
            }

            if (!visiting.Add(topic))
            {
                throw new InvalidOperationException($"The partition count of repartition topic \"{topic}\" depends on itself; pass it with repartitionPartitions.");
            }

            var count = _subTopologies
                .Where(s => s.Sinks.Contains(topic, StringComparer.Ordinal))
                .Select(s => PartitionsOf(s, sources, fixedCounts, counts, visiting))
                .DefaultIfEmpty(1)
                .Max();
            visiting.Remove(topic);
            counts[topic] = count;
            return count;
        }

        private sealed record SubTopology(int Id, IReadOnlyList<string> Sources, IReadOnlyList<string> Sinks, IReadOnlyList<string> Stores);
    }
}
