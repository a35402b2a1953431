namespace KafkaClient.SchemaRegistry.Compatibility;

/// <summary>Thrown when checking two schemas for compatibility would take more than the bounded work.</summary>
/// <remarks>A registry answers it as an invalid schema (HTTP 422), never by running for minutes.</remarks>
public sealed class SchemaTooComplexException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="SchemaTooComplexException"/> class.</summary>
    public SchemaTooComplexException()
        : base("The schemas are too complex to check for compatibility.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SchemaTooComplexException"/> class.</summary>
    /// <param name="message">What was too complex.</param>
    public SchemaTooComplexException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SchemaTooComplexException"/> class.</summary>
    /// <param name="message">What was too complex.</param>
    /// <param name="innerException">The cause.</param>
    public SchemaTooComplexException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
