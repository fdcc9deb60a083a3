package dev.zdm.autoconfigure;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.beans.factory.ListableBeanFactory;

import dev.zdm.internal.fleet.MigrationEngines;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.migration.MigrationDefinition;
import dev.zdm.migration.ZdmConfigurationException;

/**
 * The engines of the data sources other than zdm's own that migrations name with
 * {@code zdm.migrations.<id>.data-source}, one per data source, each with its own fleet
 * and {@code zdm_*} tables. They are not beans, so that zdm's own phase controller does
 * not take their participants as its own: they start after zdm's own engine, in the order
 * of their names, and stop before it.
 */
final class ZdmEngines implements MigrationEngines, InitializingBean, DisposableBean {

	private static final Log logger = LogFactory.getLog(ZdmEngines.class);

	private final List<ZdmEngine> engines;

	private final Map<String, ZdmEngine> byMigration = new LinkedHashMap<>();

	private final List<ZdmEngine> started = new ArrayList<>();

	private boolean destroyed;

	ZdmEngines(ZdmProperties properties, ZdmDataSource zdmDataSource, ListableBeanFactory beanFactory,
			ZdmEngineFactory.Shared shared) {
		List<ZdmEngine> engines = new ArrayList<>();
		for (String name : otherDataSources(properties, zdmDataSource)) {
			DataSource dataSource = beanFactory.getBean(name, DataSource.class);
			List<MigrationDefinition> migrations = MigrationDefinitions.from(properties, name, false);
			ZdmEngine engine = ZdmEngineFactory.build(name, dataSource, migrations, shared);
			migrations.forEach((migration) -> this.byMigration.put(migration.id(), engine));
			engines.add(engine);
		}
		this.engines = List.copyOf(engines);
	}

	/**
	 * Refuse, before anything is written, a migration whose data source is not a
	 * {@link DataSource} bean.
	 * @param properties the properties
	 * @param beanFactory the application's bean factory
	 * @throws ZdmConfigurationException if one is not
	 */
	static void checkDataSources(ZdmProperties properties, ListableBeanFactory beanFactory) {
		List<String> names = Arrays.asList(beanFactory.getBeanNamesForType(DataSource.class, true, false));
		properties.getMigrations().forEach((id, migration) -> {
			String name = migration.getDataSource();
			if (name != null && !names.contains(name)) {
				String property = "zdm.migrations." + id + ".data-source";
				throw new ZdmConfigurationException(id,
						property + " is '" + name + "', which is not the name of a DataSource bean; the DataSource "
								+ "beans are " + names,
						"Set " + property + " to the name of the DataSource bean of the database the migration's "
								+ "tables are in, or remove it for zdm's own data source.");
			}
		});
	}

	private static Set<String> otherDataSources(ZdmProperties properties, ZdmDataSource zdmDataSource) {
		Set<String> names = new TreeSet<>();
		properties.getMigrations().values().forEach((migration) -> {
			String name = migration.getDataSource();
			if (name != null && !name.equals(zdmDataSource.beanName())) {
				names.add(name);
			}
		});
		return names;
	}

	@Override
	public void afterPropertiesSet() {
		for (ZdmEngine engine : this.engines) {
			try {
				engine.controller().start();
			}
			catch (RuntimeException ex) {
				destroy();
				throw ex;
			}
			this.started.add(engine);
			logger.info("zdm: started the engine of data source '" + engine.dataSourceName() + "' ("
					+ engine.controller().migrations().size() + " migrations)");
		}
	}

	@Override
	public void destroy() {
		if (this.destroyed) {
			return;
		}
		this.destroyed = true;
		for (int i = this.started.size() - 1; i >= 0; i--) {
			this.started.get(i).controller().stop();
		}
		for (ZdmEngine engine : this.engines) {
			for (DisposableBean disposable : engine.disposables()) {
				try {
					disposable.destroy();
				}
				catch (Exception ex) {
					logger.warn("zdm: could not stop " + disposable.getClass().getSimpleName() + " of data source '"
							+ engine.dataSourceName() + "'", ex);
				}
			}
		}
	}

	/**
	 * Return the engines, in the order they start.
	 * @return the engines
	 */
	List<ZdmEngine> engines() {
		return this.engines;
	}

	@Override
	public @Nullable PhaseController controllerFor(String migrationId) {
		ZdmEngine engine = this.byMigration.get(migrationId);
		return (engine != null) ? engine.controller() : null;
	}

	@Override
	public @Nullable MigrationStateRepository statesFor(String migrationId) {
		ZdmEngine engine = this.byMigration.get(migrationId);
		return (engine != null) ? engine.states() : null;
	}

}
