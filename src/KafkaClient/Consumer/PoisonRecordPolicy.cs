namespace KafkaClient;

/// <summary>What a consumer does with a record it cannot deserialize for a reason retrying cannot fix (a poison record).</summary>
/// <remarks>
/// <para>
/// Only permanent failures are poison: bad bytes, an unknown schema id, a schema violation. A transient one (a
/// schema registry that cannot be reached) never is: the consumer stays on the record and retries it; see
/// <see cref="DeserializingConsumerBuilder{TKey, TValue}.SetTransientErrorHandler"/>.
/// </para>
/// <para>
/// <see cref="Raise"/> (the default) throws the <see cref="DeserializationException"/> from the poll, past the
/// record, which ends an <c>await foreach</c> over <c>ConsumeAsync</c>. <see cref="Skip"/> and
/// <see cref="DeadLetter"/> keep one <c>await foreach</c> running past any number of poison records.
/// </para>
/// <para>Immutable; one policy may serve several consumers.</para>
/// </remarks>
public sealed class PoisonRecordPolicy
{
    private PoisonRecordPolicy(PoisonAction action, Action<DeserializationException>? onSkipped, DeadLetterPolicy? deadLetters)
    {
        Action = action;
        OnSkipped = onSkipped;
        DeadLetters = deadLetters;
    }

    /// <summary>Gets the policy that throws the failure from the poll; the consumer's position is already past the record and its offset stored.</summary>
    public static PoisonRecordPolicy Raise { get; } = new(PoisonAction.Raise, null, null);

    internal PoisonAction Action { get; }

    internal Action<DeserializationException>? OnSkipped { get; }

    internal DeadLetterPolicy? DeadLetters { get; }

    /// <summary>Creates a policy that stores the record's offset, hands the failure (with the raw record) to <paramref name="onSkipped"/> and goes on.</summary>
    /// <param name="onSkipped">Called on the polling caller's thread with each poison record, or null; an exception it throws is raised from the poll, after the record was skipped.</param>
    /// <returns>The policy.</returns>
    public static PoisonRecordPolicy Skip(Action<DeserializationException>? onSkipped = null) => new(PoisonAction.Skip, onSkipped, null);

    /// <summary>Creates a policy that forwards each poison record, raw, to a dead-letter topic and goes on.</summary>
    /// <param name="policy">Where and how to forward.</param>
    /// <returns>The policy.</returns>
    public static PoisonRecordPolicy DeadLetter(DeadLetterPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        return new(PoisonAction.DeadLetter, null, policy);
    }

    internal enum PoisonAction
    {
        Raise,
        Skip,
        DeadLetter,
    }
}
