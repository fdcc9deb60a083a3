package dev.zdm.autoconfigure;

import java.util.Arrays;

import javax.sql.DataSource;

import dev.zdm.internal.backfill.OwnPoolCalls;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ListableBeanFactory;

import dev.zdm.migration.ZdmConfigurationException;

/**
 * The {@link DataSource} zdm runs on: the bean {@code zdm.data-source} names, else the
 * application's single (or primary) one. Its fleet registry, DDL, backfill and
 * {@code zdm_*} tables are all on that database.
 */
final class ZdmDataSource {

	private final String beanName;

	private final DataSource dataSource;

	private ZdmDataSource(String beanName, DataSource dataSource, OwnPoolCalls ownCalls) {
		this.beanName = beanName;
		this.dataSource = ownCalls.counting(dataSource);
	}

	/**
	 * Find the data source zdm runs on.
	 * @param name the bean {@code zdm.data-source} names, or {@code null}
	 * @param beanFactory the application's bean factory
	 * @param ownCalls where zdm's own calls on it are counted
	 * @return the data source
	 * @throws ZdmConfigurationException if the name is no DataSource bean, or if none is
	 * named and there are several with none primary
	 */
	static ZdmDataSource resolve(@Nullable String name, ListableBeanFactory beanFactory, OwnPoolCalls ownCalls) {
		String[] names = beanFactory.getBeanNamesForType(DataSource.class, true, false);
		if (name != null) {
			if (!Arrays.asList(names).contains(name)) {
				throw new ZdmConfigurationException(null,
						"zdm.data-source is '" + name + "', which is not the name of a DataSource bean; the DataSource "
								+ "beans are " + Arrays.toString(names),
						"Set zdm.data-source to the name of the DataSource bean of the database zdm runs on.");
			}
			return new ZdmDataSource(name, beanFactory.getBean(name, DataSource.class), ownCalls);
		}
		DataSource unique = beanFactory.getBeanProvider(DataSource.class).getIfUnique();
		if (unique == null) {
			throw new ZdmConfigurationException(null,
					"the application has " + names.length + " DataSource beans " + Arrays.toString(names)
							+ ", none of them primary, and zdm.data-source does not say which one zdm runs on: its "
							+ "migrations would not run",
					"Set zdm.data-source to the name of the DataSource bean of the database the migrations run on "
							+ "(zdm's fleet, DDL, backfill and zdm_* tables are there), or mark that bean @Primary, "
							+ "or set zdm.enabled=false.");
		}
		return new ZdmDataSource(beanName(names, unique, beanFactory), unique, ownCalls);
	}

	private static String beanName(String[] names, DataSource dataSource, ListableBeanFactory beanFactory) {
		for (String name : names) {
			if (beanFactory.getBean(name) == dataSource) {
				return name;
			}
		}
		return names[0];
	}

	/**
	 * Return the name of the data source's bean.
	 * @return the bean name
	 */
	String beanName() {
		return this.beanName;
	}

	/**
	 * Return the data source zdm's engine runs on: the application's, its connections
	 * counted as zdm's own ({@link OwnPoolCalls}).
	 * @return the data source
	 */
	DataSource get() {
		return this.dataSource;
	}

	@Override
	public String toString() {
		return this.beanName;
	}

}
