package dev.zdm.autoconfigure;

import java.util.List;

import javax.sql.DataSource;

import org.springframework.beans.factory.DisposableBean;

import dev.zdm.backfill.BackfillService;
import dev.zdm.internal.backfill.BackfillProgressSampler;
import dev.zdm.internal.backfill.FinalContractCheck;
import dev.zdm.internal.ddl.AbandonRunner;
import dev.zdm.internal.ddl.DdlActivity;
import dev.zdm.internal.ddl.DdlHistoryRepository;
import dev.zdm.internal.ddl.ExpandRunner;
import dev.zdm.internal.ddl.MigrationPlanner;
import dev.zdm.internal.fleet.HeldBackTracker;
import dev.zdm.internal.fleet.MigrationStateRepository;
import dev.zdm.internal.fleet.OperatorActionRepository;
import dev.zdm.internal.fleet.PhaseController;
import dev.zdm.internal.fleet.ZdmTables;
import dev.zdm.internal.locks.LockFiguresSampler;

/**
 * zdm's engine on a data source other than zdm's own, built by {@link ZdmEngineFactory}:
 * what the endpoint, the health indicator and the metrics read, and what stops with it.
 *
 * @param dataSourceName the name of the data source's bean
 * @param dataSource the data source
 * @param tables zdm's tables there
 * @param controller its phase controller
 * @param states its migrations' states
 * @param lockFiguresSampler its lock figures
 * @param backfillService its backfills
 * @param ddlHistory its DDL history
 * @param operatorActions its operators' actions
 * @param expandRunner its expand runner
 * @param finalContractCheck its final check before each contract
 * @param abandonRunner its abandon runner
 * @param planner its planner
 * @param backfillProgressSampler its backfills' progress
 * @param ddlActivity its DDL activity
 * @param heldBackTracker since when its phases are held back
 * @param disposables what must be destroyed once its controller has stopped, in order
 */
record ZdmEngine(String dataSourceName, DataSource dataSource, ZdmTables tables, PhaseController controller,
		MigrationStateRepository states, LockFiguresSampler lockFiguresSampler, BackfillService backfillService,
		DdlHistoryRepository ddlHistory, OperatorActionRepository operatorActions, ExpandRunner expandRunner,
		FinalContractCheck finalContractCheck, AbandonRunner abandonRunner, MigrationPlanner planner,
		BackfillProgressSampler backfillProgressSampler, DdlActivity ddlActivity, HeldBackTracker heldBackTracker,
		List<DisposableBean> disposables) {

}
