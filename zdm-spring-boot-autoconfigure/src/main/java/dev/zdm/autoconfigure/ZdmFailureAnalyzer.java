package dev.zdm.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import dev.zdm.migration.ZdmConfigurationException;

/**
 * Reports a {@link ZdmConfigurationException} at start-up: what is wrong with a
 * migration's declaration and what to do about it.
 */
class ZdmFailureAnalyzer extends AbstractFailureAnalyzer<ZdmConfigurationException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, ZdmConfigurationException cause) {
		return new FailureAnalysis(cause.getDescription(), cause.getAction(), cause);
	}

}
