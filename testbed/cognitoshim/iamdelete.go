package cognitoshim

import "net/http"

// DeleteRolePolicy and DeleteRole, as IAM answers them: a role that still
// has inline or attached policies cannot be deleted (DeleteConflict), and
// an unknown policy or role is NoSuchEntity.

func (s *Server) iamDeleteRolePolicy(w http.ResponseWriter, r *http.Request) {
	s.withRole(w, r, func(role *iamRole) {
		name := r.PostForm.Get("PolicyName")
		if _, ok := role.Policies[name]; !ok {
			queryError(w, 404, "NoSuchEntity", "The role policy with name "+name+" cannot be found.")
			return
		}
		delete(role.Policies, name)
		iamOK(w, "DeleteRolePolicy", "")
	})
}

func (s *Server) iamDeleteRole(w http.ResponseWriter, r *http.Request) {
	s.withRole(w, r, func(role *iamRole) {
		if len(role.Policies) > 0 || len(role.Attached) > 0 {
			queryError(w, 409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
			return
		}
		delete(s.roles, role.Name)
		iamOK(w, "DeleteRole", "")
	})
}
