/** The configuration the MikroORM CLI loads (`npm run migration:create`). */
import { databaseConfigFromEnvironment } from '../config';
import { ormConfig } from './orm-config';

export default ormConfig(databaseConfigFromEnvironment().databaseUrl);
