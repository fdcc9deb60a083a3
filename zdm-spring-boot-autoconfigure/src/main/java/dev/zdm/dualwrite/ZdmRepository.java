package dev.zdm.dualwrite;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a bean as the implementation of a repository interface against one side of a
 * migration. When a bean for each side is present, zdm registers a primary bean of the
 * interface that routes every call by the migration's effective phase.
 * <p>
 * Put it on the implementation class, or on the {@code @Bean} method that creates it.
 */
@Target({ ElementType.TYPE, ElementType.METHOD })
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface ZdmRepository {

	/**
	 * The migration, its id under {@code zdm.migrations}.
	 * @return the migration id
	 */
	String migration();

	/**
	 * The side of the migration this implementation is written against.
	 * @return the side
	 */
	Schema schema();

	/**
	 * The repository interface the routing bean implements. Needed only when the
	 * implementation implements more than one interface of the application's own.
	 * @return the interface, or {@code void.class} to use the only one
	 */
	Class<?> repository() default void.class;

}
