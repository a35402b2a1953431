namespace KafkaClient.SchemaRegistry.Serdes;

/// <summary>Makes a format's exceptions for the failures the serde core detects, so each format keeps its own exception type.</summary>
internal abstract class SerdeErrors
{
    /// <summary>Gets a value indicating whether <paramref name="exception"/> is already the format's own exception, to be passed on unchanged.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>True for the format's own exceptions.</returns>
    public abstract bool IsOwn(Exception exception);

    /// <summary>Makes the exception for a failed registry call.</summary>
    /// <param name="failure">The classified failure.</param>
    /// <param name="message">The message, without credentials.</param>
    /// <param name="original">The exception the registry client threw, to keep as the inner exception.</param>
    /// <param name="schemaId">The schema id, if known.</param>
    /// <param name="subject">The subject, if known.</param>
    /// <returns>The exception to throw; retriable exactly when <see cref="RegistryFailure.IsRetriable"/>.</returns>
    public abstract Exception Registry(RegistryFailure failure, string message, Exception original, int? schemaId, string? subject);

    /// <summary>Makes the exception for a schema the format cannot use (wrong type, cannot be loaded, not compatible with the latest).</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, if any.</param>
    /// <param name="schemaId">The schema id, if known.</param>
    /// <param name="subject">The subject, if known.</param>
    /// <returns>The exception to throw; not retriable.</returns>
    public abstract Exception UnsupportedSchema(string message, Exception? innerException, int? schemaId, string? subject);

    /// <summary>Runs a registry call, turning its failure into the format's exception.</summary>
    /// <typeparam name="TResult">The call's result.</typeparam>
    /// <param name="call">The call.</param>
    /// <param name="what">What is asked of the registry, for the message.</param>
    /// <param name="schemaId">The schema id looked up, if the call is a lookup by id.</param>
    /// <param name="subject">The subject, if any.</param>
    /// <returns>The call's result.</returns>
    public async Task<TResult> CallAsync<TResult>(Func<Task<TResult>> call, string what, int? schemaId = null, string? subject = null)
    {
        try
        {
            var result = await call().ConfigureAwait(false);
            Counted(errorType: null);
            return result;
        }
        catch (Exception ex) when (!IsOwn(ex))
        {
            var failure = RegistryErrors.Classify(ex, lookupById: schemaId is not null);
            Counted(ex.GetType().Name);
            throw Registry(failure, failure.Describe(what, schemaId), ex, schemaId, subject);
        }

        static void Counted(string? errorType)
        {
            if (KafkaClient.Diagnostics.Telemetry.RegistryCalls.Enabled)
            {
                KafkaClient.Diagnostics.Telemetry.RegistryCalls.Add(1, new KeyValuePair<string, object?>("error.type", errorType));
            }
        }
    }
}
