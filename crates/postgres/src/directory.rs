//! The directory port over PostgreSQL.

use access_reviews_domain::directory::{DirectoryObject, Group, Relation, User};
use access_reviews_domain::ids::PrincipalId;
use access_reviews_domain::ports::{Added, DirectoryRepository, RepositoryError};
use access_reviews_domain::queries::MembershipQuery;
use access_reviews_domain::query::{Page, PageRequest};
use async_trait::async_trait;
use uuid::Uuid;

use crate::error::{CorruptRow, is_unique_violation, map_sqlx};
use crate::paging::{bind, fetch_page, limits};
use crate::repository::PgRepository;
use sqlx::postgres::PgArguments;

const USER_COLUMNS: &str =
    "id, display_name, user_principal_name, mail, mail_nickname, account_enabled";
const GROUP_COLUMNS: &str =
    "id, display_name, description, mail_nickname, mail_enabled, security_enabled";

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    display_name: String,
    user_principal_name: String,
    mail: Option<String>,
    mail_nickname: String,
    account_enabled: bool,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: PrincipalId::from_uuid(r.id),
            display_name: r.display_name,
            user_principal_name: r.user_principal_name,
            mail: r.mail,
            mail_nickname: r.mail_nickname,
            account_enabled: r.account_enabled,
        }
    }
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: Uuid,
    display_name: String,
    description: Option<String>,
    mail_nickname: String,
    mail_enabled: bool,
    security_enabled: bool,
}

impl From<GroupRow> for Group {
    fn from(r: GroupRow) -> Self {
        Group {
            id: PrincipalId::from_uuid(r.id),
            display_name: r.display_name,
            description: r.description,
            mail_nickname: r.mail_nickname,
            mail_enabled: r.mail_enabled,
            security_enabled: r.security_enabled,
        }
    }
}

/// A member or owner with the columns of whichever table it is in.
#[derive(sqlx::FromRow)]
struct ObjectRow {
    id: Uuid,
    kind: String,
    display_name: String,
    user_principal_name: Option<String>,
    mail: Option<String>,
    mail_nickname: String,
    account_enabled: Option<bool>,
    description: Option<String>,
    mail_enabled: Option<bool>,
    security_enabled: Option<bool>,
}

impl TryFrom<ObjectRow> for DirectoryObject {
    type Error = CorruptRow;

    fn try_from(r: ObjectRow) -> Result<Self, CorruptRow> {
        let corrupt = CorruptRow {
            what: "directory object",
        };
        let id = PrincipalId::from_uuid(r.id);
        Ok(match r.kind.as_str() {
            "user" => DirectoryObject::User(User {
                id,
                display_name: r.display_name,
                user_principal_name: r.user_principal_name.ok_or(corrupt)?,
                mail: r.mail,
                mail_nickname: r.mail_nickname,
                account_enabled: r.account_enabled.ok_or(corrupt)?,
            }),
            "group" => DirectoryObject::Group(Group {
                id,
                display_name: r.display_name,
                description: r.description,
                mail_nickname: r.mail_nickname,
                mail_enabled: r.mail_enabled.ok_or(corrupt)?,
                security_enabled: r.security_enabled.ok_or(corrupt)?,
            }),
            _ => return Err(corrupt),
        })
    }
}

/// Turns `(id, kind, position)` rows of a sub-select named `t` into whole
/// objects, in `position` order.
const OBJECTS_OF_T: &str = "SELECT t.id, t.kind, \
     coalesce(u.display_name, g.display_name) AS display_name, \
     u.user_principal_name, u.mail, \
     coalesce(u.mail_nickname, g.mail_nickname) AS mail_nickname, \
     u.account_enabled, g.description, g.mail_enabled, g.security_enabled \
     FROM t LEFT JOIN directory_users u ON t.kind = 'user' AND u.id = t.id \
     LEFT JOIN directory_groups g ON t.kind = 'group' AND g.id = t.id \
     WHERE u.id IS NOT NULL OR g.id IS NOT NULL \
     ORDER BY t.position LIMIT $2 OFFSET $3";

/// The groups reachable from `$1` through nested membership, `$1`
/// included; `UNION` drops repeats, so a cycle ends the walk.
const WALK: &str = "WITH RECURSIVE walk(group_id) AS ( \
     SELECT $1::uuid \
     UNION \
     SELECT m.member_id FROM group_members m JOIN walk w ON m.group_id = w.group_id \
     WHERE m.member_kind = 'group')";

impl PgRepository {
    /// The users whose ids `list` (a call of one of the migrations' group
    /// functions, answering `uuid[]`) gives, in its order; `$2` is bound
    /// when `flag` is given.
    async fn users_in_order(
        &self,
        list: &'static str,
        group: PrincipalId,
        flag: Option<bool>,
    ) -> Result<Vec<User>, RepositoryError> {
        let sql = format!(
            "SELECT u.id, u.display_name, u.user_principal_name, u.mail, u.mail_nickname, \
             u.account_enabled FROM unnest({list}) WITH ORDINALITY l(id, position) \
             JOIN directory_users u ON u.id = l.id ORDER BY l.position"
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(group.as_uuid());
        if let Some(flag) = flag {
            query = query.bind(flag);
        }
        let rows: Vec<UserRow> = query.fetch_all(self.pool()).await.map_err(map_sqlx)?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    async fn objects(
        &self,
        sql: String,
        group: PrincipalId,
        page: PageRequest,
    ) -> Result<Page<DirectoryObject>, RepositoryError> {
        let (limit, offset) = limits(page);
        let mut args = PgArguments::default();
        bind(&mut args, group.as_uuid())?;
        bind(&mut args, limit)?;
        bind(&mut args, offset)?;
        fetch_page::<ObjectRow, _>(self.pool(), sql, args, page, DirectoryObject::try_from).await
    }
}

#[async_trait]
impl DirectoryRepository for PgRepository {
    async fn create_user(&self, user: &User) -> Result<Added, RepositoryError> {
        let result = sqlx::query(
            "INSERT INTO directory_users (id, display_name, user_principal_name, mail, \
             mail_nickname, account_enabled) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.as_uuid())
        .bind(&user.display_name)
        .bind(&user.user_principal_name)
        .bind(user.mail.as_deref())
        .bind(&user.mail_nickname)
        .bind(user.account_enabled)
        .execute(self.pool())
        .await;
        match result {
            Ok(_) => Ok(Added::Added),
            Err(e) if is_unique_violation(&e, "directory_users_upn") => Ok(Added::AlreadyPresent),
            Err(e) => Err(map_sqlx(e)),
        }
    }

    async fn user(&self, id: PrincipalId) -> Result<Option<User>, RepositoryError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM directory_users WHERE id = $1");
        let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(row.map(User::from))
    }

    async fn users(&self, page: PageRequest) -> Result<Page<User>, RepositoryError> {
        let (limit, offset) = limits(page);
        let sql =
            format!("SELECT {USER_COLUMNS} FROM directory_users ORDER BY seq LIMIT $1 OFFSET $2");
        let mut args = PgArguments::default();
        bind(&mut args, limit)?;
        bind(&mut args, offset)?;
        fetch_page::<UserRow, _>(self.pool(), sql, args, page, |r| Ok(User::from(r))).await
    }

    async fn create_group(&self, group: &Group) -> Result<(), RepositoryError> {
        sqlx::query(
            "INSERT INTO directory_groups (id, display_name, description, mail_nickname, \
             mail_enabled, security_enabled) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(group.id.as_uuid())
        .bind(&group.display_name)
        .bind(group.description.as_deref())
        .bind(&group.mail_nickname)
        .bind(group.mail_enabled)
        .bind(group.security_enabled)
        .execute(self.pool())
        .await
        .map_err(map_sqlx)?;
        Ok(())
    }

    async fn group(&self, id: PrincipalId) -> Result<Option<Group>, RepositoryError> {
        let sql = format!("SELECT {GROUP_COLUMNS} FROM directory_groups WHERE id = $1");
        let row: Option<GroupRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(row.map(Group::from))
    }

    async fn groups(&self, page: PageRequest) -> Result<Page<Group>, RepositoryError> {
        let (limit, offset) = limits(page);
        let sql =
            format!("SELECT {GROUP_COLUMNS} FROM directory_groups ORDER BY seq LIMIT $1 OFFSET $2");
        let mut args = PgArguments::default();
        bind(&mut args, limit)?;
        bind(&mut args, offset)?;
        fetch_page::<GroupRow, _>(self.pool(), sql, args, page, |r| Ok(Group::from(r))).await
    }

    async fn object(&self, id: PrincipalId) -> Result<Option<DirectoryObject>, RepositoryError> {
        if let Some(user) = DirectoryRepository::user(self, id).await? {
            return Ok(Some(DirectoryObject::User(user)));
        }
        Ok(DirectoryRepository::group(self, id)
            .await?
            .map(DirectoryObject::Group))
    }

    async fn add(
        &self,
        group: PrincipalId,
        relation: Relation,
        object: PrincipalId,
    ) -> Result<Added, RepositoryError> {
        let sql = match relation {
            // The kind is read from the tables so that it cannot disagree.
            Relation::Members => {
                "INSERT INTO group_members (group_id, member_id, member_kind) \
                 SELECT $1, $2, CASE WHEN EXISTS (SELECT 1 FROM directory_users WHERE id = $2) \
                 THEN 'user' ELSE 'group' END ON CONFLICT DO NOTHING"
            }
            Relation::Owners => {
                "INSERT INTO group_owners (group_id, owner_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING"
            }
        };
        let done = sqlx::query(sql)
            .bind(group.as_uuid())
            .bind(object.as_uuid())
            .execute(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(if done.rows_affected() == 1 {
            Added::Added
        } else {
            Added::AlreadyPresent
        })
    }

    async fn remove_member(
        &self,
        group: PrincipalId,
        member: PrincipalId,
    ) -> Result<bool, RepositoryError> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND member_id = $2")
            .bind(group.as_uuid())
            .bind(member.as_uuid())
            .execute(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn related(
        &self,
        group: PrincipalId,
        relation: Relation,
        page: PageRequest,
    ) -> Result<Page<DirectoryObject>, RepositoryError> {
        let source = match relation {
            Relation::Members => {
                "SELECT member_id AS id, member_kind AS kind, seq AS position \
                 FROM group_members WHERE group_id = $1"
            }
            Relation::Owners => {
                "SELECT owner_id AS id, 'user'::text AS kind, seq AS position \
                 FROM group_owners WHERE group_id = $1"
            }
        };
        self.objects(format!("WITH t AS ({source}) {OBJECTS_OF_T}"), group, page)
            .await
    }

    async fn transitive_members(
        &self,
        group: PrincipalId,
        page: PageRequest,
    ) -> Result<Page<DirectoryObject>, RepositoryError> {
        let sql = format!(
            "{WALK}, t AS (SELECT m.member_id AS id, min(m.member_kind) AS kind, \
             min(m.seq) AS position FROM group_members m \
             WHERE m.group_id IN (SELECT group_id FROM walk) AND m.member_id <> $1 \
             GROUP BY m.member_id) {OBJECTS_OF_T}"
        );
        self.objects(sql, group, page).await
    }

    async fn member_users(&self, query: MembershipQuery) -> Result<Vec<User>, RepositoryError> {
        self.users_in_order(
            "ar_group_member_users($1, $2)",
            query.group,
            Some(query.transitive),
        )
        .await
    }

    async fn owner_users(&self, group: PrincipalId) -> Result<Vec<User>, RepositoryError> {
        self.users_in_order("ar_group_owners($1)", group, None)
            .await
    }

    async fn set_manager(
        &self,
        user: PrincipalId,
        manager: PrincipalId,
    ) -> Result<(), RepositoryError> {
        sqlx::query("UPDATE directory_users SET manager_id = $2 WHERE id = $1")
            .bind(user.as_uuid())
            .bind(manager.as_uuid())
            .execute(self.pool())
            .await
            .map_err(map_sqlx)?;
        Ok(())
    }

    async fn manager(&self, user: PrincipalId) -> Result<Option<User>, RepositoryError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT m.id, m.display_name, m.user_principal_name, m.mail, m.mail_nickname, \
             m.account_enabled FROM directory_users u JOIN directory_users m \
             ON m.id = u.manager_id WHERE u.id = $1",
        )
        .bind(user.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(map_sqlx)?;
        Ok(row.map(User::from))
    }
}
